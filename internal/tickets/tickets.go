// Package tickets makes the keys that encrypt TLS session tickets, so that
// every process serving a listener resumes the sessions any other one
// started.
//
// A session ticket is the server's state of a TLS session, encrypted and
// authenticated with a key only the servers hold, and kept by the client.
// A client that comes back presents it and skips the certificate and its
// signature (and, in TLS 1.2, the key exchange): the server's expensive
// part of a handshake. crypto/tls makes random keys for each tls.Config,
// so with several worker processes a client that lands on another worker
// (SO_REUSEPORT spreads connections over them) pays a full handshake, and
// a reload, whose workers are new processes, forgets every session.
//
// Here the keys derive from a secret instead:
//
//	key(i) = HMAC-SHA256(secret, "wsproxy ticket" || period || i),  i = ⌊unix time / period⌋
//
// A master makes the secret once and hands it to every worker of every
// generation, which compute the same key at the same moment without
// talking to each other. A Rotator installs, at the start of each period
// i, the keys [key(i), key(i-1), key(i+1)]: key(i) encrypts new tickets,
// key(i-1) still opens those of the period before, and key(i+1) opens the
// tickets of a process whose timer fired at the boundary a moment before
// this one's. A ticket therefore resumes for one to two periods after it
// was issued; the period is half a listener's session_ticket_lifetime.
//
// ReadFiles reads keys from files in the format of nginx's
// ssl_session_ticket_key instead, for several instances (machines) that
// resume each other's sessions: the first file's key encrypts, all
// decrypt, and nothing rotates them but whoever replaces the files.
//
// What the rotation does not give: the secret stays in the memory of
// every process for as long as the master runs, and derives the keys of
// every period, past ones included. So the rotation bounds how long a
// session resumes, not what a leak of a process's memory exposes. In TLS
// 1.3 crypto/tls resumes only with a fresh (EC)DHE exchange (psk_dhe_ke),
// so a leaked key lets one resume a session but not read recorded
// traffic; in TLS 1.2 a ticket holds the session's master secret and a
// leaked key decrypts the recorded connections whose tickets it sealed.
//
// 0-RTT (TLS 1.3 early data) stays off: crypto/tls's server never offers
// it over TCP (its NewSessionTicket carries no early_data extension, and a
// ClientHello that sends early data anyway is refused).
package tickets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SecretSize is the size of the secrets NewSecret makes, in bytes.
const SecretSize = 32

// DefaultLifetime is how long a ticket resumes at most when a listener
// does not say (config.DefaultSessionTicketLifetime): its keys rotate
// every 30 minutes.
const DefaultLifetime = time.Hour

// NewSecret returns SecretSize random bytes to derive keys from.
func NewSecret() []byte {
	b := make([]byte, SecretSize)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}

// Period is the rotation period for tickets that resume for at most
// lifetime: half of it, as a ticket is accepted for two periods at most.
func Period(lifetime time.Duration) time.Duration {
	return max(lifetime/2, time.Nanosecond)
}

// Index is the number of the period t falls in: periods since the Unix
// epoch. The wall clock, not a monotonic one, because processes started
// at different moments must agree on it.
func Index(t time.Time, period time.Duration) int64 {
	n, p := t.UnixNano(), int64(period)
	i := n / p
	if n%p < 0 {
		i-- // floor, for times before 1970
	}
	return i
}

// Start returns the moment period i begins.
func Start(i int64, period time.Duration) time.Time {
	return time.Unix(0, i*int64(period))
}

// Key derives the session-ticket key of period i from secret. The period's
// length is part of the input, so that listeners rotating at different
// rates never share a key.
func Key(secret []byte, period time.Duration, i int64) [32]byte {
	var msg [len("wsproxy ticket") + 16]byte
	n := copy(msg[:], "wsproxy ticket")
	binary.BigEndian.PutUint64(msg[n:], uint64(period))
	binary.BigEndian.PutUint64(msg[n+8:], uint64(i))
	m := hmac.New(sha256.New, secret)
	m.Write(msg[:])
	var k [32]byte
	m.Sum(k[:0])
	return k
}

// Keys returns what tls.Config.SetSessionTicketKeys takes during period i:
// the key of i first (it encrypts), then those of i-1 and i+1 (they only
// decrypt). The tried order matters little: crypto/tls checks a ticket's
// MAC against each key in turn, and almost every ticket matches the first.
func Keys(secret []byte, period time.Duration, i int64) [][32]byte {
	return [][32]byte{Key(secret, period, i), Key(secret, period, i-1), Key(secret, period, i+1)}
}
