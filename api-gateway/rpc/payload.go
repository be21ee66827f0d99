package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	merrors "go-micro.dev/v4/errors"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/catalog"
	"github.com/microlb/microlb/api-gateway/middleware"
)

// Payload builds the JSON body of the RPC request from r:
//
//   - a JSON body (Content-Type application/json, */*+json, none, or a form
//     or text type whose body starts like JSON, as `curl -d '{...}'` sends)
//     is validated and passed on unchanged;
//   - a form body, and the query of a request without a body, become a JSON
//     object; with the endpoint's request fields from the registry, values
//     are typed (numbers, booleans, repeated fields), otherwise strings, and
//     a repeated parameter becomes an array; "a.b=1" nests;
//   - an empty request is an empty body (the zero request).
//
// Errors are 400 (malformed JSON or query, invalid UTF-8, keys nested
// deeper than MaxParamDepth), 413 (too large)
// and 415 (a content type that is neither JSON nor a form).
func Payload(r *http.Request, ep *catalog.Endpoint) ([]byte, *merrors.Error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(r.Body)
		if err != nil {
			if limit, ok := middleware.IsTooLarge(err); ok {
				return nil, apierr.New(http.StatusRequestEntityTooLarge, middleware.TooLarge(limit))
			}
			return nil, apierr.New(http.StatusBadRequest, "reading the request body: "+err.Error())
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err == nil {
			err = checkValues(q)
		}
		if err != nil {
			return nil, apierr.New(http.StatusBadRequest, "malformed query: "+err.Error())
		}
		if len(q) == 0 {
			return nil, nil
		}
		return valuesJSON(q, ep), nil
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return nil, apierr.New(http.StatusUnsupportedMediaType, "malformed Content-Type")
	}
	switch {
	case ct == "" || ct == "application/json" || ct == "text/json" || strings.HasSuffix(ct, "+json"):
		return checkJSON(body)
	case looksJSON(body) && (ct == "application/x-www-form-urlencoded" || strings.HasPrefix(ct, "text/")):
		return checkJSON(body)
	case ct == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err == nil {
			err = checkValues(q)
		}
		if err != nil {
			return nil, apierr.New(http.StatusBadRequest, "malformed form body: "+err.Error())
		}
		return valuesJSON(q, ep), nil
	}
	return nil, apierr.New(http.StatusUnsupportedMediaType, "unsupported Content-Type "+strconv.Quote(ct)+": send application/json")
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// checkJSON accepts well-formed UTF-8 JSON and explains what is wrong with
// anything else.
func checkJSON(b []byte) ([]byte, *merrors.Error) {
	if !utf8.Valid(b) {
		return nil, apierr.New(http.StatusBadRequest, "malformed JSON: the body is not valid UTF-8")
	}
	if json.Valid(b) {
		return b, nil
	}
	var v json.RawMessage
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, apierr.New(http.StatusBadRequest, "malformed JSON at byte "+strconv.FormatInt(se.Offset, 10)+": "+se.Error())
	}
	return nil, apierr.New(http.StatusBadRequest, "malformed JSON")
}

// MaxParamDepth bounds the nesting of a query or form key ("a.b.c" is 3).
const MaxParamDepth = 32

// checkValues refuses query or form values that valuesJSON could only turn
// into something else: invalid UTF-8 (JSON would carry U+FFFD instead) and
// keys nested deeper than MaxParamDepth.
func checkValues(q url.Values) error {
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return errors.New("a parameter name is not valid UTF-8")
		}
		if strings.Count(k, ".") >= MaxParamDepth {
			return fmt.Errorf("parameter %s nests deeper than %d levels", quoteName(k), MaxParamDepth)
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return fmt.Errorf("the value of parameter %s is not valid UTF-8", quoteName(k))
			}
		}
	}
	return nil
}

// quoteName quotes a parameter name for an error detail, shortened.
func quoteName(k string) string {
	if len(k) > 32 {
		return strconv.Quote(k[:32]) + "…"
	}
	return strconv.Quote(k)
}

// valuesJSON turns query or form values into a JSON object.
func valuesJSON(q url.Values, ep *catalog.Endpoint) []byte {
	obj := map[string]any{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic nesting conflicts
	for _, k := range keys {
		vs := q[k]
		if k == "" || len(vs) == 0 {
			continue
		}
		path := strings.Split(k, ".")
		var f catalog.Field
		if ep != nil && len(ep.Fields) > 0 {
			// The registry lists the request's fields: a parameter that is
			// none of them (a routing key, a cache buster) stays out.
			var known bool
			if f, known = ep.Fields[catalog.Normalize(path[0])]; !known {
				continue
			}
			path[0] = f.Name
			if len(path) > 1 {
				f = catalog.Field{}
			}
		}
		setPath(obj, path, typed(vs, f.Type))
	}
	b, _ := json.Marshal(obj)
	return b
}

func setPath(obj map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}

// typed converts the values of one parameter for a field of Go type typ
// ("" when unknown).
func typed(vs []string, typ string) any {
	if elem, ok := strings.CutPrefix(typ, "[]"); ok {
		var out []any
		for _, v := range vs {
			for part := range strings.SplitSeq(v, ",") {
				out = append(out, scalar(part, elem))
			}
		}
		return out
	}
	if len(vs) > 1 && typ == "" {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out
	}
	return scalar(vs[len(vs)-1], typ)
}

func scalar(v, typ string) any {
	switch typ {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return json.Number(v)
		}
		if _, err := strconv.ParseUint(v, 10, 64); err == nil {
			return json.Number(v)
		}
	case "float32", "float64":
		if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpP_iInN") {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case "bool":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}
