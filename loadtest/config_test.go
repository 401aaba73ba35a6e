package loadtest_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"wsproxy/loadtest"
)

func TestParseSources(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		name, spec string
		want       []netip.Addr
		err        bool
	}{
		{"empty", "", nil, false},
		{"one", "127.0.0.2", addrs("127.0.0.2"), false},
		{"range", "127.0.0.2-127.0.0.5", addrs("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"), false},
		{"list", "127.0.0.2, 127.0.0.9,::1", addrs("127.0.0.2", "127.0.0.9", "::1"), false},
		{"mixed", "127.0.0.1,127.0.0.3-127.0.0.4", addrs("127.0.0.1", "127.0.0.3", "127.0.0.4"), false},
		{"octet carry", "127.0.0.255-127.0.1.0", addrs("127.0.0.255", "127.0.1.0"), false},
		{"single range", "127.0.0.7-127.0.0.7", addrs("127.0.0.7"), false},
		{"descending", "127.0.0.9-127.0.0.2", nil, true},
		{"ipv6 range", "::1-::2", nil, true},
		{"garbage", "127.0.0.x", nil, true},
		{"bad end", "127.0.0.1-", nil, true},
		{"huge", "127.0.0.1-127.9.0.1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadtest.ParseSources(tt.spec)
			if (err != nil) != tt.err {
				t.Fatalf("ParseSources(%q) error = %v; want error %v", tt.spec, err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseSources(%q) = %v; want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := loadtest.Config{URL: "ws://127.0.0.1:1/", Conns: 1}
	tests := []struct {
		name  string
		edit  func(*loadtest.Config)
		field string // "" for valid
	}{
		{"defaults", func(*loadtest.Config) {}, ""},
		{"https scheme", func(c *loadtest.Config) { c.URL = "https://127.0.0.1/" }, "URL"},
		{"http", func(c *loadtest.Config) { c.URL = "http://127.0.0.1/" }, "URL"},
		{"no host", func(c *loadtest.Config) { c.URL = "ws:///x" }, "URL"},
		{"no conns", func(c *loadtest.Config) { c.Conns = 0 }, "Conns"},
		{"rate", func(c *loadtest.Config) { c.Rate = -1 }, "Rate"},
		{"workload", func(c *loadtest.Config) { c.Workload = "flood" }, "Workload"},
		{"size", func(c *loadtest.Config) { c.Size = 1 << 30 }, "Size"},
		{"duration", func(c *loadtest.Config) { c.Duration = -time.Second }, "Duration"},
		{"loops", func(c *loadtest.Config) { c.Loops = 1000 }, "Loops"},
		{"per process", func(c *loadtest.Config) { c.MaxPerProcess = 50000 }, "MaxPerProcess"},
		{"source", func(c *loadtest.Config) { c.Sources = []netip.Addr{{}} }, "Sources"},
		{"reconnect over ws", func(c *loadtest.Config) { c.Workload = loadtest.Reconnect }, "Workload"},
		{"reconnect over wss", func(c *loadtest.Config) { c.Workload, c.URL = loadtest.Reconnect, "wss://127.0.0.1:1/" }, ""},
		{"reconnects", func(c *loadtest.Config) { c.Reconnects = -1 }, "Reconnects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate() = %v; want nil", err)
			case tt.field != "" && !errors.Is(err, loadtest.ErrConfig):
				t.Fatalf("Validate() = %v; want ErrConfig about %s", err, tt.field)
			case tt.field != "" && !strings.Contains(err.Error(), tt.field+":"):
				t.Errorf("Validate() = %v; want the field %s named", err, tt.field)
			}
		})
	}
	if err := (loadtest.Config{URL: "wss://h/", Conns: 1}).Validate(); err != nil {
		t.Errorf("wss: Validate() = %v; want nil", err)
	}
}
