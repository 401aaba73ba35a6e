package wsproxy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocLinks: every relative link of the top-level documents names a
// file or directory of the repository. A link out of it (../shared/...)
// works in the author's checkout and nowhere else.
func TestDocLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range []string{"README.md", "DEVELOPERS.md", "BENCHMARKS.md"} {
		t.Run(doc, func(t *testing.T) {
			text, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range link.FindAllStringSubmatch(string(text), -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				clean := filepath.Clean(target)
				if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
					t.Errorf("link %s leaves the repository; want a path inside it", m[1])
					continue
				}
				if _, err := os.Stat(clean); err != nil {
					t.Errorf("link %s: %v; want an existing file or directory", m[1], err)
				}
			}
		})
	}
}
