package balance_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"wsproxy/balance"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		cfg       balance.Config
		wantField string // "" when valid
	}{
		{name: "zero value", cfg: balance.Config{}},
		{name: "every policy", cfg: balance.Config{Policy: balance.PolicySid, Fallback: balance.PolicyLeastConn}},
		{name: "hash keys", cfg: balance.Config{Policy: balance.PolicyHash, HashKey: "query:sid"}},
		{name: "unknown policy", cfg: balance.Config{Policy: "random"}, wantField: "Policy"},
		{name: "hash key without name", cfg: balance.Config{HashKey: "header:"}, wantField: "HashKey"},
		{name: "hash key unknown source", cfg: balance.Config{HashKey: "body:x"}, wantField: "HashKey"},
		{name: "hash key bad header", cfg: balance.Config{HashKey: "header:X Key"}, wantField: "HashKey"},
		{name: "sticky fallback", cfg: balance.Config{Policy: balance.PolicySid, Fallback: balance.PolicyCookie}, wantField: "Fallback"},
		{name: "bad cookie name", cfg: balance.Config{CookieName: "a=b"}, wantField: "CookieName"},
		{name: "cookie without secret", cfg: balance.Config{Policy: balance.PolicyCookie}, wantField: "CookieSecret"},
		{name: "negative SidTTL", cfg: balance.Config{SidTTL: -1}, wantField: "SidTTL"},
		{name: "negative SidTableSize", cfg: balance.Config{SidTableSize: -1}, wantField: "SidTableSize"},
		{name: "negative FailTimeout", cfg: balance.Config{FailTimeout: -time.Second}, wantField: "FailTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkConfigError(t, tt.cfg.Validate(), tt.wantField)
		})
	}
}

func TestNewPoolServers(t *testing.T) {
	tests := []struct {
		name      string
		servers   []balance.ServerConfig
		wantField string
	}{
		{name: "valid", servers: letters(1, 0, 3)},
		{name: "none", servers: nil, wantField: "servers"},
		{name: "empty address", servers: []balance.ServerConfig{{Addr: "a:80"}, {}}, wantField: "servers[1].Addr"},
		{name: "repeated address", servers: []balance.ServerConfig{{Addr: "a:80"}, {Addr: "a:80"}}, wantField: "servers[1].Addr"},
		{name: "negative weight", servers: []balance.ServerConfig{{Addr: "a:80", Weight: -1}}, wantField: "servers[0].Weight"},
		{name: "negative max_conns", servers: []balance.ServerConfig{{Addr: "a:80", MaxConns: -1}}, wantField: "servers[0].MaxConns"},
		{name: "only backups", servers: []balance.ServerConfig{{Addr: "a:80", Backup: true}}, wantField: "servers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := balance.NewPool("up", tt.servers, balance.Config{})
			checkConfigError(t, err, tt.wantField)
		})
	}
}

func checkConfigError(t *testing.T, err error, wantField string) {
	t.Helper()
	if wantField == "" {
		if err != nil {
			t.Errorf("err = %v; want nil", err)
		}
		return
	}
	var ce *balance.ConfigError
	if !errors.As(err, &ce) || ce.Field != wantField || !errors.Is(err, balance.ErrInvalidConfig) {
		t.Errorf("err = %v; want a ConfigError on %s", err, wantField)
	}
}

var allPolicies = []string{
	balance.PolicyRoundRobin, balance.PolicyLeastConn, balance.PolicyIPHash,
	balance.PolicyHash, balance.PolicyCookie, balance.PolicySid,
}

func policyConfig(policy string) balance.Config {
	return balance.Config{Policy: policy, HashKey: "header:X-Key", CookieSecret: secret}
}

// TestMaxConnsAndBackup holds picks until the pool is full, under every
// policy: primaries fill up to their MaxConns, then the backup, then
// ErrNoServer.
func TestMaxConnsAndBackup(t *testing.T) {
	for _, policy := range allPolicies {
		t.Run(policy, func(t *testing.T) {
			p := mustPool(t, []balance.ServerConfig{
				{Addr: "a:80", MaxConns: 2}, {Addr: "b:80", MaxConns: 1}, {Addr: "c:80", MaxConns: 1, Backup: true},
			}, policyConfig(policy))
			r := withSid("192.0.2.1", "nope")
			r.header = map[string][]byte{"X-Key": []byte("k")}
			var got []string
			for range 4 {
				s, err := p.Pick(r, t0)
				if err != nil {
					t.Fatalf("after %v: %v", got, err)
				}
				got = append(got, s.Addr[:1])
			}
			if _, err := p.Pick(r, t0); !errors.Is(err, balance.ErrNoServer) {
				t.Errorf("full pool: err = %v; want ErrNoServer", err)
			}
			if got[3] != "c" || got[0] == "c" || got[1] == "c" || got[2] == "c" {
				t.Errorf("picks %v; want the backup c only last", got)
			}
			server(t, p, "a:80").Release()
			if s, err := p.Pick(r, t0); err != nil || s.Addr != "a:80" {
				t.Errorf("after a freed a slot: %v, %v; want a", s, err)
			}
		})
	}
}

func TestNoServerWhenAllDown(t *testing.T) {
	p := mustPool(t, letters(1, 1), balance.Config{})
	for _, s := range p.Servers() {
		s.MarkDown()
	}
	if s, err := p.Pick(fromAddr("192.0.2.1"), t0); s != nil || !errors.Is(err, balance.ErrNoServer) {
		t.Errorf("Pick = %v, %v; want nil, ErrNoServer", s, err)
	}
}

func TestReleaseWithoutAcquirePanics(t *testing.T) {
	p := mustPool(t, letters(1), balance.Config{})
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	p.Servers()[0].Release()
}

func TestPoolAccessors(t *testing.T) {
	p := mustPool(t, letters(1, 0), balance.Config{})
	if p.Name() != "test" || p.Policy() != balance.PolicyRoundRobin {
		t.Errorf("Name, Policy = %q, %q", p.Name(), p.Policy())
	}
	ss := p.Servers()
	if len(ss) != 2 || ss[1].Config().Weight != 1 || ss[0].ID() == ss[1].ID() {
		t.Errorf("Servers = %v; want a, b with weight 1 and distinct IDs", ss)
	}
	ss[0] = nil
	if p.Servers()[0] == nil {
		t.Error("Servers shares its slice with the pool")
	}
}

func TestPickNoAlloc(t *testing.T) {
	for _, c := range pickCases(t) {
		t.Run(c.name, func(t *testing.T) {
			n := testing.AllocsPerRun(1000, func() {
				s, err := c.pool.Pick(c.req, t0)
				if err != nil {
					t.Fatal(err)
				}
				s.Release()
			})
			if n != 0 {
				t.Errorf("Pick allocates %v times; want 0", n)
			}
		})
	}
}

// TestConcurrentUse drives every policy from many goroutines while health
// flaps; run with -race. Every slot must be released at the end.
func TestConcurrentUse(t *testing.T) {
	for _, c := range pickCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					servers := c.pool.Servers()
					for i := range 2000 {
						now := t0.Add(time.Duration(i) * time.Millisecond)
						s, err := c.pool.Pick(c.req, now)
						if err == nil {
							c.pool.Report(s, i%7 != 0, now)
							c.pool.Learn([]byte("sid"), s, now)
							c.pool.NeedsCookie(c.req, s)
							s.Release()
						}
						if i%100 == g {
							servers[i%len(servers)].MarkDown()
							servers[(i+1)%len(servers)].MarkUp()
						}
					}
				})
			}
			wg.Wait()
			for _, s := range c.pool.Servers() {
				if s.Active() != 0 {
					t.Errorf("%s: %d active after all released", s.Addr, s.Active())
				}
			}
		})
	}
}
