package middleware

import (
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// Authenticator checks API keys and JWTs. API keys are looked up by their
// SHA-256, so the lookup's timing reveals nothing about the keys. JWTs are
// accepted only with the algorithms that have a key configured (HS256,
// RS256); "none" and every other algorithm are refused.
type Authenticator struct {
	header string
	keys   map[[32]byte]config.APIKey
	parser *jwt.Parser
	hs     []byte
	rs     *rsa.PublicKey
}

// NewAuthenticator builds an Authenticator from the configuration.
func NewAuthenticator(cfg config.Auth) (*Authenticator, error) {
	a := &Authenticator{header: cfg.APIKeyHeader, keys: map[[32]byte]config.APIKey{}}
	if a.header == "" {
		a.header = config.DefaultAPIKeyHeader
	}
	for _, k := range cfg.APIKeys {
		if k.Name == "" {
			k.Name = "key"
		}
		a.keys[sha256.Sum256([]byte(k.Key))] = k
	}
	j := cfg.JWT
	var algs []string
	if j.HS256Secret != "" {
		a.hs = []byte(j.HS256Secret)
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	pem := []byte(j.RS256PublicKey)
	if j.RS256PublicKeyFile != "" {
		var err error
		if pem, err = os.ReadFile(j.RS256PublicKeyFile); err != nil {
			return nil, fmt.Errorf("auth.jwt.rs256_public_key_file: %w", err)
		}
	}
	if len(pem) > 0 {
		key, err := jwt.ParseRSAPublicKeyFromPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("auth.jwt: RS256 public key: %w", err)
		}
		a.rs = key
		algs = append(algs, jwt.SigningMethodRS256.Alg())
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithLeeway(j.Leeway), jwt.WithIssuedAt()}
	if j.RequireExp == nil || *j.RequireExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if j.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.Issuer))
	}
	if j.Audience != "" {
		opts = append(opts, jwt.WithAudience(j.Audience))
	}
	if len(algs) > 0 {
		a.parser = jwt.NewParser(opts...)
	}
	return a, nil
}

// APIKeyFrom returns the API key of the request: the header's value, or the
// credentials of "Authorization: ApiKey <key>".
func APIKeyFrom(r *http.Request, header string) string {
	if k := r.Header.Get(header); k != "" {
		return k
	}
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "ApiKey") {
		return strings.TrimSpace(cred)
	}
	return ""
}

func bearer(r *http.Request) string {
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(cred)
	}
	return ""
}

// principal is who authenticated and what they may do.
type principal struct {
	name   string
	scopes []string
}

// authError is a 401 (or 403) with its detail.
type authError struct {
	code   int
	detail string
}

func (e *authError) Error() string { return e.detail }

func unauthorized(format string, a ...any) *authError {
	return &authError{http.StatusUnauthorized, fmt.Sprintf(format, a...)}
}

// authenticate checks the credentials that mode asks for.
func (a *Authenticator) authenticate(r *http.Request, mode string) (*principal, *authError) {
	key, tok := APIKeyFrom(r, a.header), bearer(r)
	switch mode {
	case config.AuthAPIKey:
		if key == "" {
			return nil, unauthorized("missing API key (%s header)", a.header)
		}
		return a.checkKey(key)
	case config.AuthJWT:
		if tok == "" {
			return nil, unauthorized("missing bearer token")
		}
		return a.checkJWT(tok)
	case config.AuthAny:
		switch {
		case key != "":
			return a.checkKey(key)
		case tok != "":
			return a.checkJWT(tok)
		}
		return nil, unauthorized("missing credentials: an API key (%s header) or a bearer token", a.header)
	}
	return &principal{}, nil
}

func (a *Authenticator) checkKey(key string) (*principal, *authError) {
	k, ok := a.keys[sha256.Sum256([]byte(key))]
	if !ok {
		return nil, unauthorized("invalid API key")
	}
	return &principal{name: "apikey:" + k.Name, scopes: k.Scopes}, nil
}

func (a *Authenticator) checkJWT(tok string) (*principal, *authError) {
	if a.parser == nil {
		return nil, unauthorized("bearer tokens are not accepted: no JWT key configured")
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(tok, claims, a.keyFunc)
	if err != nil {
		return nil, unauthorized("invalid token: %s", jwtReason(err))
	}
	p := &principal{scopes: scopesOf(claims)}
	if sub, _ := claims.GetSubject(); sub != "" {
		p.name = "jwt:" + sub
	} else {
		p.name = "jwt"
	}
	return p, nil
}

func (a *Authenticator) keyFunc(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if a.hs != nil {
			return a.hs, nil
		}
	case jwt.SigningMethodRS256.Alg():
		if a.rs != nil {
			return a.rs, nil
		}
	}
	return nil, jwt.ErrTokenUnverifiable
}

// jwtReason turns a jwt error into a short, safe reason.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim (exp) is missing"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && strings.Contains(err.Error(), "signing method"):
		return "signing method not accepted" // alg none, HS512, ...: not in the valid methods
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signing method not accepted"
	}
	return "rejected"
}

// scopesOf reads "scope" (space-separated), "scp" or "scopes" (lists).
func scopesOf(c jwt.MapClaims) []string {
	var out []string
	if s, ok := c["scope"].(string); ok {
		out = append(out, strings.Fields(s)...)
	}
	for _, k := range []string{"scopes", "scp"} {
		switch v := c[k].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Auth enforces the route's auth policies (route.Route.AuthPolicies: its own
// and the guards of the service it reached): 401 (with WWW-Authenticate)
// for missing or invalid credentials, 403 for valid credentials that lack a
// scope a policy requires. The principal of the first policy is recorded in
// Info. A request without route information is refused (500): the layer
// fails closed.
func Auth(a *Authenticator) func(http.Handler) http.Handler {
	return guard(func(w http.ResponseWriter, r *http.Request, next http.Handler, info *reqinfo.Info) {
		for i, ra := range info.Route.AuthPolicies() {
			p, aerr := a.authenticate(r, ra.Mode)
			if aerr != nil {
				challenge := `Bearer realm="microlb"`
				if ra.Mode == config.AuthAPIKey {
					challenge = `ApiKey realm="microlb", header="` + a.header + `"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
				apierr.Write(w, aerr.code, aerr.detail)
				return
			}
			for _, s := range ra.Scopes {
				if !slices.Contains(p.scopes, s) {
					apierr.Write(w, http.StatusForbidden, "missing scope "+quoteHeader(s))
					return
				}
			}
			if i == 0 {
				info.Principal, info.Scopes = p.name, p.scopes
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Header returns the header that carries API keys.
func (a *Authenticator) Header() string { return a.header }
