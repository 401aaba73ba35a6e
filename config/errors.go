package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// fieldError is one problem with one field of one file. Callers do not
// branch on it, so it is not exported; its text is the interface.
type fieldError struct {
	file  string
	line  int    // 0 when unknown (configurations built in code)
	field string // "routes[1].upstream"; empty for whole-file problems
	msg   string
}

// Error formats the problem as "FILE:LINE: field: msg", leaving out the
// parts that are unknown.
func (e *fieldError) Error() string {
	var b strings.Builder
	if e.file != "" {
		b.WriteString(e.file)
		if e.line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.line))
		}
		b.WriteString(": ")
	}
	if e.field != "" {
		b.WriteString(e.field)
		b.WriteString(": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

// problems collects fieldErrors against the lines recorded while decoding.
type problems struct {
	file  string
	lines map[string]int
	errs  []*fieldError
}

// addf records a problem with field, located at the line of field or, if
// that was never written, of its nearest written parent.
func (p *problems) addf(field, format string, args ...any) {
	p.addAt(p.lineOf(field), field, format, args...)
}

// addAt records a problem with field at a known line.
func (p *problems) addAt(line int, field, format string, args ...any) {
	p.errs = append(p.errs, &fieldError{file: p.file, line: line, field: field, msg: fmt.Sprintf(format, args...)})
}

// lineOf returns the line of field, falling back to its parents:
// "routes[1].rewrite.regex" → "routes[1].rewrite" → "routes[1]" → "routes" → "".
func (p *problems) lineOf(field string) int {
	for {
		if n, ok := p.lines[field]; ok {
			return n
		}
		if field == "" {
			return 0
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			i = 0
		}
		field = field[:i]
	}
}

// err returns the problems in line order (stable, so problems on one line
// keep the order they were found in), joined, or nil.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].line < p.errs[j].line })
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// yamlLine matches the line number in a yaml.v3 syntax error.
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// syntaxError rewrites a yaml.v3 syntax error "yaml: line 3: problem" as
// "FILE:LINE: problem". The line yaml.v3 gives is that of the enclosing
// construct, 0-based for some errors and left out on the first line, so the
// line is found again: it is the first one at which the file, cut short
// after that line, fails with the same problem. The cost is one parse per
// line, paid only for a broken file and bounded by relocateBudget.
func syntaxError(file string, data []byte, err error) error {
	e := &fieldError{file: file, msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(e.msg); m != nil {
		e.line, _ = strconv.Atoi(m[1])
		e.msg = m[2]
	}
	end, parsed := 0, 0
	for n := 1; end < len(data) && parsed < relocateBudget; n++ {
		if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(data)
		}
		parsed += end
		perr := parseAll(data[:end])
		if perr == nil {
			continue
		}
		msg := strings.TrimPrefix(perr.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		if msg == e.msg {
			e.line = n
			break
		}
	}
	explainTab(e, data)
	return e
}

// explainTab replaces yaml.v3's words for a tab where indentation is
// expected ("found character that cannot start any token") with what to
// do about it, when the line of e holds a tab.
func explainTab(e *fieldError, data []byte) {
	if e.msg != "found character that cannot start any token" && e.msg != "found a tab character that violates indentation" {
		return
	}
	lines := bytes.Split(data, []byte("\n"))
	if e.line < 1 || e.line > len(lines) {
		return
	}
	if col := bytes.IndexByte(lines[e.line-1], '\t'); col >= 0 {
		e.msg = fmt.Sprintf("tab at column %d: YAML does not allow tabs for indentation; indent with spaces", col+1)
	}
}

// relocateBudget bounds the bytes syntaxError re-parses to find a line;
// beyond it yaml.v3's own, rougher line is kept.
const relocateBudget = 16 << 20

// parseAll parses every document in data and returns the first error.
func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// suggest returns " (did you mean X?)" for the candidate closest to word,
// or "" when none is close: within two edits, or sharing the first two
// letters (so "adress" finds "addr" and "idle_timeout" finds "idle").
func suggest(word string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), c)
		close := d <= 2 || (len(word) >= 2 && len(c) >= 2 && strings.EqualFold(word[:2], c[:2]))
		if close && d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
