package mucpfix

import (
	"testing"

	"go-micro.dev/v4/transport"
)

// fakeSocket returns one message from Recv.
type fakeSocket struct {
	transport.Socket
	header map[string]string
}

func (s fakeSocket) Recv(m *transport.Message) error {
	m.Header = s.header
	return nil
}

func TestIDSocketCopiesTheRequestID(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		want   string // Header["Micro-ID"] after Recv
	}{
		{name: "canonical key from the HTTP transport", header: map[string]string{"Micro-Id": "42"}, want: "42"},
		{name: "already under the server's key", header: map[string]string{"Micro-ID": "7", "Micro-Id": "42"}, want: "7"},
		{name: "no id", header: map[string]string{"Content-Type": "application/json"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m transport.Message
			if err := (idSocket{fakeSocket{header: tt.header}}).Recv(&m); err != nil {
				t.Fatal(err)
			}
			if got := m.Header["Micro-ID"]; got != tt.want {
				t.Errorf(`Header["Micro-ID"] = %q, want %q`, got, tt.want)
			}
		})
	}
}
