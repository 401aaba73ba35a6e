package config

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"
)

// tls12Suites maps the names of the TLS 1.2 cipher suites Go considers
// secure to their IDs; only these may be listed in TLS.Ciphers.
var tls12Suites = func() map[string]uint16 {
	m := make(map[string]uint16)
	for _, cs := range tls.CipherSuites() {
		for _, v := range cs.SupportedVersions {
			if v == tls.VersionTLS12 {
				m[cs.Name] = cs.ID
			}
		}
	}
	return m
}()

// CipherSuiteIDs returns the IDs of the suites named in t.Ciphers, in order,
// or nil when none are named (Go's defaults). Call it after Validate.
func (t *TLS) CipherSuiteIDs() []uint16 {
	var ids []uint16
	for _, name := range t.Ciphers {
		if id, ok := tls12Suites[name]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Pairs returns the listener's certificate/key pairs, the default first:
// Cert and Key when set, then Certificates. The slice is new; the caller
// may change it.
func (t *TLS) Pairs() []CertPair {
	var pairs []CertPair
	if t.Cert != "" {
		pairs = append(pairs, CertPair{Cert: t.Cert, Key: t.Key, CertAt: t.certAt, KeyAt: t.keyAt})
	}
	return append(pairs, t.Certificates...)
}

// TicketKeyAt says where SessionTicketKeys[i] is written ("FILE:LINE:
// listen[0].tls.session_ticket_keys[1]"), for the errors of whoever reads
// the file; empty in a configuration built in code.
func (t *TLS) TicketKeyAt(i int) string {
	if i < len(t.ticketKeysAt) {
		return t.ticketKeysAt[i]
	}
	return ""
}

// TicketsOn says whether the listener issues and resumes session tickets.
func (t *TLS) TicketsOn() bool { return t.SessionTickets == nil || *t.SessionTickets }

// The bounds of TLS.SessionTicketLifetime: below a minute the keys would
// rotate faster than a client comes back; crypto/tls resumes no session
// older than 7 days whatever its key.
const (
	minTicketLifetime = time.Minute
	maxTicketLifetime = 7 * 24 * time.Hour
)

// sessionTickets checks the session-ticket fields of a TLS listener: no
// key files or lifetime with tickets off, no lifetime with key files (the
// files are the keys; replacing them rotates).
func (v *validator) sessionTickets(f string, t *TLS) {
	life := time.Duration(t.SessionTicketLifetime)
	switch {
	case !t.TicketsOn():
		if len(t.SessionTicketKeys) > 0 {
			v.p.addf(f+".session_ticket_keys", "has no effect with session_tickets: false")
		}
		if life != 0 {
			v.p.addf(f+".session_ticket_lifetime", "has no effect with session_tickets: false")
		}
		return
	case life != 0 && len(t.SessionTicketKeys) > 0:
		v.p.addf(f+".session_ticket_lifetime", "has no effect with session_ticket_keys (a ticket resumes while its key is in one of the files: replace them and send SIGUSR2 to rotate)")
	case life != 0 && (life < minTicketLifetime || life > maxTicketLifetime):
		v.p.addf(f+".session_ticket_lifetime", "%s is out of range (want 1m to 168h)", life)
	}
	for i, p := range t.SessionTicketKeys {
		if p == "" {
			v.p.addf(fmt.Sprintf("%s.session_ticket_keys[%d]", f, i), "empty path (want a file of 80 or 48 random bytes)")
		}
	}
}

// curveIDs maps the names TLS.Curves takes to crypto/tls's IDs.
var curveIDs = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"X25519":         tls.X25519,
	"P256":           tls.CurveP256,
	"P384":           tls.CurveP384,
	"P521":           tls.CurveP521,
}

// CurveIDs returns the key exchanges named in t.Curves, in order, or nil
// when none are named (Go's defaults). Call it after Validate.
func (t *TLS) CurveIDs() []tls.CurveID {
	var ids []tls.CurveID
	for _, name := range t.Curves {
		if id, ok := curveIDs[curveName(name)]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// curveName maps OpenSSL's spellings (prime256v1, secp384r1, x25519) to
// the names of curveIDs, so a list copied from nginx's ssl_ecdh_curve works.
func curveName(name string) string {
	switch strings.ToLower(name) {
	case "prime256v1", "secp256r1", "p-256", "p256":
		return "P256"
	case "secp384r1", "p-384", "p384":
		return "P384"
	case "secp521r1", "p-521", "p521":
		return "P521"
	case "x25519":
		return "X25519"
	case "x25519mlkem768":
		return "X25519MLKEM768"
	}
	return name
}

// curves checks TLS.Curves: known names, none twice.
func (v *validator) curves(f string, t *TLS) {
	seen := make(map[string]bool)
	for i, name := range t.Curves {
		cf := fmt.Sprintf("%s[%d]", f, i)
		n := curveName(name)
		switch _, ok := curveIDs[n]; {
		case !ok:
			v.p.addf(cf, "unknown key exchange %q (want X25519MLKEM768, X25519, P256, P384 or P521)", name)
		case seen[n]:
			v.p.addf(cf, "%s is listed twice", name)
		}
		seen[n] = true
	}
}

// ciphers checks TLS.Ciphers against the suites Go offers for TLS 1.2.
func (v *validator) ciphers(f string, t *TLS) {
	if len(t.Ciphers) > 0 && strings.ToLower(t.MinVersion) == "1.3" {
		v.p.addf(f, "has no effect with min_version \"1.3\" (TLS 1.3 suites are not configurable)")
		return
	}
	insecure := make(map[string]bool)
	for _, cs := range tls.InsecureCipherSuites() {
		insecure[cs.Name] = true
	}
	for i, name := range t.Ciphers {
		cf := fmt.Sprintf("%s[%d]", f, i)
		if _, ok := tls12Suites[name]; ok {
			continue
		}
		switch {
		case insecure[name]:
			v.p.addf(cf, "cipher suite %s is insecure and not supported", name)
		case strings.HasPrefix(name, "TLS_AES_") || strings.HasPrefix(name, "TLS_CHACHA20_"):
			v.p.addf(cf, "%s is a TLS 1.3 suite; TLS 1.3 suites are not configurable", name)
		default:
			v.p.addf(cf, "unknown TLS 1.2 cipher suite %q%s", name, suggestSuite(name))
		}
	}
}

// suggestSuite proposes the suite whose name differs from name only in case
// or by "-" for "_", the usual slips when copying from OpenSSL-style lists.
func suggestSuite(name string) string {
	norm := strings.ReplaceAll(name, "-", "_")
	for s := range tls12Suites {
		if strings.EqualFold(s, norm) {
			return " (did you mean " + s + "?)"
		}
	}
	return " (want a Go name such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)"
}

// serverTLS checks the TLS settings of an upstream server: they need
// tls: true, and a CA file is pointless when verification is off.
func (v *validator) serverTLS(f string, s Server) {
	if !s.TLS {
		for _, o := range []struct {
			field string
			set   bool
		}{{"ca_file", s.CAFile != ""}, {"server_name", s.ServerName != ""}, {"insecure_skip_verify", s.InsecureSkipVerify}} {
			if o.set {
				v.p.addf(f+"."+o.field, "has no effect without tls: true")
			}
		}
		return
	}
	if s.InsecureSkipVerify && s.CAFile != "" {
		v.p.addf(f+".ca_file", "has no effect with insecure_skip_verify: true")
	}
}
