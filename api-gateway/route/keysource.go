package route

import (
	"net/http"

	"github.com/microlb/microlb/api-gateway/config"
)

// KeySource says where the hash strategy's key comes from.
type KeySource struct {
	Kind string // config.KeyHeader, KeyCookie, KeyQuery, KeyPath, KeyClientIP; "" for none
	Name string
}

// ParseKeySource parses header:<name>, cookie:<name>, query:<name>, path or
// client_ip.
func ParseKeySource(s string) (KeySource, error) {
	kind, name, err := config.ParseHashKey(s)
	return KeySource{Kind: kind, Name: name}, err
}

// String returns the source in its configuration syntax.
func (k KeySource) String() string {
	if k.Name == "" {
		return k.Kind
	}
	return k.Kind + ":" + k.Name
}

// Key extracts the key from the request; clientIP is the request's client
// address as the gateway determined it. An absent key is "".
func (k KeySource) Key(r *http.Request, clientIP string) string {
	switch k.Kind {
	case config.KeyHeader:
		return r.Header.Get(k.Name)
	case config.KeyCookie:
		if c, err := r.Cookie(k.Name); err == nil {
			return c.Value
		}
	case config.KeyQuery:
		return r.URL.Query().Get(k.Name)
	case config.KeyPath:
		return r.URL.Path
	case config.KeyClientIP:
		return clientIP
	}
	return ""
}
