package tickets_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"wsproxy/internal/tickets"
)

// TestRotation stands for two worker processes, each with its own Rotator
// and tls.Config: a client's session from the first (the issuer, at one
// moment) resumes on the second (at another) when they share the secret
// and the second still holds the key. The clock is a parameter: no sleeps.
func TestRotation(t *testing.T) {
	secretA, secretB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	const life = time.Hour // period 30m
	p := tickets.Period(life)
	// Ten minutes into a period, so that ±P stays clear of its edges.
	t0 := tickets.Start(tickets.Index(time.Now(), p), p).Add(10 * time.Minute)
	for _, tc := range []struct {
		name            string
		issuer, resumer time.Time
		resumerSecret   []byte
		resumerLifetime time.Duration
		want            bool
	}{
		{"same period", t0, t0, secretA, life, true},
		{"end of the same period", t0, t0.Add(19 * time.Minute), secretA, life, true},
		{"next period: the previous key still decrypts", t0, t0.Add(p), secretA, life, true},
		{"two periods later: gone", t0, t0.Add(2 * p), secretA, life, false},
		{"issuer rotated first: the next key decrypts", t0.Add(p), t0, secretA, life, true},
		{"issuer two periods ahead", t0.Add(2 * p), t0, secretA, life, false},
		{"other secret", t0, t0, secretB, life, false},
		{"other lifetime", t0, t0, secretA, 2 * life, false},
	} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, tls.VersionName(v)), func(t *testing.T) {
				issuer, resumer := serverConfig(t), serverConfig(t)
				tickets.NewRotator(secretA).Add(issuer, life, tc.issuer)
				tickets.NewRotator(tc.resumerSecret).Add(resumer, tc.resumerLifetime, tc.resumer)
				client := clientConfig(v)
				if handshake(t, client, issuer) {
					t.Fatal("first handshake resumed; want a full one")
				}
				if got := handshake(t, client, resumer); got != tc.want {
					t.Errorf("resumed on the other process: got %v; want %v", got, tc.want)
				}
			})
		}
	}
}

// TestRotateInPlace rotates one process's keys under a client that keeps
// coming back: a ticket outlives one rotation, not two, and a resumed
// connection carries a new ticket under the new key.
func TestRotateInPlace(t *testing.T) {
	const life = time.Hour
	p := tickets.Period(life)
	t0 := tickets.Start(tickets.Index(time.Now(), p), p).Add(time.Minute)
	srv := serverConfig(t)
	r := tickets.NewRotator(nil)
	r.Add(srv, life, t0)
	client := clientConfig(tls.VersionTLS13)
	steps := []struct {
		at   time.Time
		want bool
	}{
		{t0, false},       // first: full
		{t0, true},        // same period
		{t0.Add(p), true}, // rotated once: the previous key; a new ticket under the new key
		{t0.Add(p), true},
		{t0.Add(3 * p), false}, // the ticket of t0+P is two periods old
		{t0.Add(3 * p), true},
	}
	for i, s := range steps {
		next := r.Rotate(s.at)
		if want := tickets.Start(tickets.Index(s.at, p)+1, p); !next.Equal(want) {
			t.Errorf("step %d: Rotate returned %v; want the next period's start %v", i, next, want)
		}
		if got := handshake(t, client, srv); got != s.want {
			t.Errorf("step %d (t0+%v): resumed = %v; want %v", i, s.at.Sub(t0), got, s.want)
		}
	}
}

// TestStartStop checks that Start installs the current keys and that Stop
// leaves them: a client's session resumes after both.
func TestStartStop(t *testing.T) {
	srv := serverConfig(t)
	r := tickets.NewRotator(nil)
	r.Add(srv, 0, time.Now()) // 0: DefaultLifetime
	r.Start()
	r.Start() // a second call does nothing
	client := clientConfig(0)
	if handshake(t, client, srv) {
		t.Fatal("first handshake resumed")
	}
	r.Stop()
	r.Stop()
	if !handshake(t, client, srv) {
		t.Error("no resumption after Start and Stop; want one")
	}
}
