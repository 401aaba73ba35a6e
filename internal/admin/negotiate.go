package admin

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The content negotiation of promhttp's handler, kept so that /metrics
// answers every scraper as before (expose.go): the escaping parameter of
// the Content-Type and gzip.

// escaping is the name escaping scheme a scraper's Accept asks for, as
// github.com/prometheus/common/expfmt.Negotiate chose it for the text
// format: the last known escaping parameter among the accepted types, in
// the order of preference, up to the first text/plain of version 0.0.4 (or
// none); underscores by default. A protobuf type asked first was once
// answered in protobuf; it is skipped now.
func escaping(h http.Header) string {
	scheme := "underscores"
	for _, a := range parseAccept(h.Get("Accept")) {
		switch e := a.params["escaping"]; e {
		case "allow-utf-8", "underscores", "dots", "values":
			scheme = e
		}
		if a.typ == "text" && a.sub == "plain" && (a.params["version"] == "0.0.4" || a.params["version"] == "") {
			break
		}
	}
	return scheme
}

type acceptRange struct {
	typ, sub string
	q        float64
	params   map[string]string
}

// parseAccept splits an Accept field as github.com/munnerz/goautoneg did
// for expfmt, sorted by preference (q, then specific before wildcard).
func parseAccept(field string) []acceptRange {
	var out []acceptRange
	for part := range strings.SplitSeq(field, ",") {
		part = strings.Trim(part, " ")
		if part == "" {
			continue
		}
		media, params, _ := strings.Cut(part, ";")
		a := acceptRange{q: 1}
		typ, sub, ok := strings.Cut(media, "/")
		a.typ = strings.Trim(typ, " ")
		switch {
		case !ok && a.typ == "*":
			a.sub = "*"
		case !ok || strings.Contains(sub, "/"):
			continue
		default:
			a.sub = strings.Trim(sub, " ")
		}
		if params != "" {
			a.params = make(map[string]string)
			for p := range strings.SplitSeq(params, ";") {
				k, v, ok := strings.Cut(p, "=")
				if !ok || strings.Contains(v, "=") {
					continue
				}
				if k = strings.Trim(k, " "); k == "q" {
					a.q, _ = strconv.ParseFloat(v, 32)
				} else {
					a.params[k] = strings.Trim(v, " ")
				}
			}
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.q > b.q || a.typ != "*" && b.typ == "*" || a.sub != "*" && b.sub == "*"
	})
	return out
}

// gzipped reports whether promhttp would have compressed its answer to
// these request headers: of the encodings it offered, identity then gzip,
// the first that an Accept-Encoding element names (or "*") with a higher
// quality than any before it, and gzip only if that quality is not 0.
func gzipped(h http.Header) bool {
	best, bestQ := "identity", -1.0
	specs := parseAcceptEncoding(h.Values("Accept-Encoding"))
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range specs {
			if s.q > bestQ && (s.value == "*" || s.value == offer) {
				best, bestQ = offer, s.q
			}
		}
	}
	return best == "gzip" && bestQ != 0
}

type encodingSpec struct {
	value string
	q     float64
}

// parseAcceptEncoding parses Accept-Encoding fields as the gddo httputil
// header package promhttp vendored: tokens with an optional ";q=" quality;
// a field stops at the first element it cannot read.
func parseAcceptEncoding(fields []string) []encodingSpec {
	var specs []encodingSpec
	for _, s := range fields {
		for {
			i := 0
			for i < len(s) && (isTokenChar(s[i]) || s[i] == '/') {
				i++
			}
			spec := encodingSpec{value: s[:i], q: 1}
			if spec.value == "" {
				break
			}
			s = skipSpace(s[i:])
			if strings.HasPrefix(s, ";") {
				s = skipSpace(s[1:])
				if !strings.HasPrefix(s, "q=") {
					break
				}
				spec.q, s = quality(s[2:])
				if spec.q < 0 {
					break
				}
			}
			specs = append(specs, spec)
			s = skipSpace(s)
			if !strings.HasPrefix(s, ",") {
				break
			}
			s = skipSpace(s[1:])
		}
	}
	return specs
}

// quality reads a qvalue: 0 or 1, then optional decimals; -1 if none.
func quality(s string) (float64, string) {
	var q float64
	switch {
	case s == "":
		return -1, ""
	case s[0] == '0':
	case s[0] == '1':
		q = 1
	default:
		return -1, ""
	}
	s = s[1:]
	if !strings.HasPrefix(s, ".") {
		return q, s
	}
	s = s[1:]
	n, d, i := 0, 1, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		d *= 10
	}
	return q + float64(n)/float64(d), s[i:]
}

func skipSpace(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}

// isTokenChar reports whether c may appear in an RFC 2616 token.
func isTokenChar(c byte) bool {
	return c > 32 && c < 127 && !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c))
}
