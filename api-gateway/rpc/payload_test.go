package rpc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/microlb/microlb/api-gateway/catalog"
)

// fuzzEndpoint has one field of each kind the query typing knows.
var fuzzEndpoint = &catalog.Endpoint{Name: "Greeter.Hello", Fields: map[string]catalog.Field{
	"name":  {Name: "name", Type: "string"},
	"count": {Name: "count", Type: "int32"},
	"tags":  {Name: "tags", Type: "[]string"},
	"ok":    {Name: "ok", Type: "bool"},
	"ratio": {Name: "ratio", Type: "float64"},
}}

// payloadRequest builds the request Payload sees: the body behind a
// MaxBytesReader of limit bytes, as the body_limit layer leaves it.
func payloadRequest(body []byte, contentType, rawQuery string, limit int64) *http.Request {
	r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/greeter/hello", RawQuery: rawQuery}, Header: http.Header{}}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if len(body) > 0 {
		r.Body = http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), limit)
	}
	return r
}

// FuzzPayload checks the JSON → RPC request building on any body, content
// type and query: an error is a gateway error with status 400, 413 or 415
// (413 exactly when the body is over the limit); a success is no body or
// valid UTF-8 JSON, the client's own JSON passed on byte for byte, and a
// query or form turned into a JSON object.
func FuzzPayload(f *testing.F) {
	seeds := []struct {
		body, ct, query string
		typed           bool
	}{
		{`{"name":"Ada"}`, "application/json", "", true},
		{`{"name":`, "application/json", "", true},
		{"", "", "name=Ada&count=3&tags=a,b&ok=true&ratio=0.5", true},
		{"", "", "name=%FF", false},
		{"", "", "a.b.c=1&a=2", false},
		{"", "", strings.Repeat("a.", 40) + "a=1", false},
		{"name=Bo", "application/x-www-form-urlencoded", "", true},
		{`{"name":"Bo"}`, "application/x-www-form-urlencoded", "", false},
		{"<x/>", "application/xml", "", false},
		{"{}", ";;;", "", false},
		{"[" + strings.Repeat("[", 20000), "application/json", "", false},
		{"{\"name\":\"\xff\"}", "", "", false},
		{strings.Repeat(" ", 100) + "{}", "text/plain", "", false},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.ct, s.query, s.typed, uint16(64))
	}
	f.Fuzz(func(t *testing.T, body []byte, ct, query string, typed bool, limit uint16) {
		var ep *catalog.Endpoint
		if typed {
			ep = fuzzEndpoint
		}
		out, merr := Payload(payloadRequest(body, ct, query, int64(limit)), ep)
		again, merr2 := Payload(payloadRequest(body, ct, query, int64(limit)), ep)
		if !bytes.Equal(out, again) || (merr == nil) != (merr2 == nil) || merr != nil && merr.Error() != merr2.Error() {
			t.Fatalf("not deterministic: %q %v, then %q %v", out, merr, again, merr2)
		}
		over := len(body) > int(limit)
		if merr != nil {
			switch merr.Code {
			case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("status %d: %v", merr.Code, merr)
			}
			if merr.Id != "microlb.gateway" || merr.Status != http.StatusText(int(merr.Code)) {
				t.Fatalf("error %+v", merr)
			}
			if (merr.Code == http.StatusRequestEntityTooLarge) != over {
				t.Fatalf("%d for a body of %d bytes with a limit of %d", merr.Code, len(body), limit)
			}
			if _, err := json.Marshal(merr); err != nil {
				t.Fatal(err)
			}
			return
		}
		if over {
			t.Fatalf("a body of %d bytes over the limit of %d was accepted", len(body), limit)
		}
		if out == nil {
			return
		}
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("invalid JSON sent to the node: %q", out)
		}
		if len(bytes.TrimSpace(body)) > 0 && out[0] != '{' && !bytes.Equal(out, body) {
			t.Fatalf("the body %q was changed into %q", body, out)
		}
		if len(bytes.TrimSpace(body)) == 0 || !bytes.Equal(out, body) {
			var obj map[string]any
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatalf("parameters became %q, not a JSON object: %v", out, err)
			}
		}
	})
}

// TestPayloadRejectsWhatJSONWouldChange checks the two query inputs that
// JSON cannot carry faithfully.
func TestPayloadRejectsWhatJSONWouldChange(t *testing.T) {
	tests := []struct{ name, query, body, ct, want string }{
		{name: "invalid UTF-8 value", query: "name=%FF", want: `malformed query: the value of parameter "name" is not valid UTF-8`},
		{name: "invalid UTF-8 name", query: "n%FFme=x", want: "malformed query: a parameter name is not valid UTF-8"},
		{name: "too deep", query: strings.Repeat("a.", 32) + "a=1", want: `malformed query: parameter "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."… nests deeper than 32 levels`},
		{name: "invalid UTF-8 form", body: "name=%FE", ct: "application/x-www-form-urlencoded", want: `malformed form body: the value of parameter "name" is not valid UTF-8`},
		{name: "31 levels are fine", query: strings.Repeat("a.", 31) + "a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Payload(payloadRequest([]byte(tt.body), tt.ct, tt.query, 1<<20), nil)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tt.want != "" && (err == nil || err.Code != 400 || err.Detail != tt.want):
				t.Fatalf("got %v, want 400 %q", err, tt.want)
			}
		})
	}
}
