package testutil

import (
	"io"
	"net/http"
	"testing"
)

// Get sends GET url with c (http.DefaultClient when nil) and returns the
// status and the body; an error fails t.
func Get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}
