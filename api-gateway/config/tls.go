package config

import (
	"fmt"
	"time"
)

// Listen is the part of Server about the listeners' protocols and shutdown.
// Its keys sit directly under server:
//
//	server:
//	  tls: {cert_file: /etc/microlb/tls.crt, key_file: /etc/microlb/tls.key}
//	  admin_tls: {cert_file: ..., key_file: ...}
//	  h2c: false
//	  accept_grace: 5s
type Listen struct {
	// TLS serves the public listener over TLS, with HTTP/2 by ALPN.
	TLS *TLS `yaml:"tls"`
	// AdminTLS serves the admin listener over TLS, with HTTP/2 by ALPN.
	AdminTLS *TLS `yaml:"admin_tls"`
	// H2C accepts cleartext HTTP/2 with prior knowledge on the public
	// listener besides HTTP/1.1, for a balancer in front that speaks it.
	// It cannot be combined with tls.
	H2C bool `yaml:"h2c"`
	// AcceptGrace is how long the gateway keeps accepting and serving new
	// requests after SIGTERM, with /readyz answering 503, before it stops
	// accepting and drains (Traefik's requestAcceptGraceTimeout). Default 0.
	AcceptGrace time.Duration `yaml:"accept_grace"`
}

// TLS names a listener's certificate and key, PEM files. Both are read
// again when they change or on SIGHUP.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// validate reports the problems of the listener settings.
func (l Listen) validate() []error {
	var errs []error
	for i, t := range []*TLS{l.TLS, l.AdminTLS} {
		name := [...]string{"server.tls", "server.admin_tls"}[i]
		if t != nil && (t.CertFile == "" || t.KeyFile == "") {
			errs = append(errs, fmt.Errorf("%s: cert_file and key_file are both required", name))
		}
	}
	if l.H2C && l.TLS != nil {
		errs = append(errs, fmt.Errorf("server.h2c: cleartext HTTP/2 cannot be combined with server.tls (TLS negotiates HTTP/2 by ALPN)"))
	}
	if l.AcceptGrace < 0 {
		errs = append(errs, fmt.Errorf("server.accept_grace must not be negative"))
	}
	return errs
}
