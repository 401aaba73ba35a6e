package admin

import (
	"bufio"
	"compress/gzip"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The Prometheus text exposition format (version 0.0.4), written by hand.
// It replaced github.com/prometheus/client_golang (issue 13): that client
// brought protobuf, procfs and their init-time allocations into every
// process of the one wsproxy executable, workers included, and a larger
// binary keeps more of its pages resident. The output is the client's,
// byte for byte: families sorted by name, HELP then TYPE, label pairs
// sorted by name (le and quantile last), metrics of a family sorted by
// label values, the client's float formatting; TestMetricsMatchClient
// compares the two. What the client also did and this does not: the
// protobuf and OpenMetrics formats (a scraper that asks for them gets the
// text format, which every Prometheus accepts).

// Metric types, as written on a TYPE line.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
	typeSummary   = "summary"
)

// desc describes one metric family: its name, help text, type and the
// names of its variable labels, in the order values are given.
type desc struct {
	name, help, typ string
	labels          []string
	constant        []labelPair // labels every metric of the family carries (go_info's version)
}

func newDesc(name, help, typ string, labels ...string) *desc {
	return &desc{name: name, help: help, typ: typ, labels: labels}
}

type labelPair struct{ name, value string }

// metric is one metric of a family: its labels sorted by name, and a
// value (counter, gauge) or a distribution (histogram, summary).
type metric struct {
	labels []labelPair
	value  float64

	// histogram: upper bounds ascending (bounds) and cumulative counts
	// (cum); summary: quantiles ascending (bounds) and their values
	// (qvalues).
	bounds  []float64
	cum     []uint64
	qvalues []float64
	sum     float64
	count   uint64
}

type family struct {
	d       *desc
	metrics []metric
}

// exposition gathers the metrics of one scrape.
type exposition struct {
	families map[string]*family
}

func (e *exposition) family(d *desc) *family {
	if e.families == nil {
		e.families = make(map[string]*family)
	}
	f := e.families[d.name]
	if f == nil {
		f = &family{d: d}
		e.families[d.name] = f
	}
	return f
}

// pairs returns d's labels with values, sorted by name.
func (d *desc) pairs(values []string) []labelPair {
	if len(values) != len(d.labels) {
		panic("admin: " + d.name + ": " + strconv.Itoa(len(values)) + " label values for " + strconv.Itoa(len(d.labels)) + " labels")
	}
	p := make([]labelPair, 0, len(values)+len(d.constant))
	p = append(p, d.constant...)
	for i, v := range values {
		p = append(p, labelPair{d.labels[i], v})
	}
	sort.Slice(p, func(i, j int) bool { return p[i].name < p[j].name })
	return p
}

// value adds a counter or gauge.
func (e *exposition) value(d *desc, v float64, labels ...string) {
	f := e.family(d)
	f.metrics = append(f.metrics, metric{labels: d.pairs(labels), value: v})
}

// histogram adds a histogram: cum[i] is the cumulative count of the
// upper bound bounds[i], in ascending order (the +Inf bucket is count).
func (e *exposition) histogram(d *desc, count uint64, sum float64, bounds []float64, cum []uint64, labels ...string) {
	f := e.family(d)
	f.metrics = append(f.metrics, metric{labels: d.pairs(labels), sum: sum, count: count, bounds: bounds, cum: cum})
}

// summary adds a summary: values[i] is the value of quantile quantiles[i],
// in ascending order.
func (e *exposition) summary(d *desc, count uint64, sum float64, quantiles, values []float64, labels ...string) {
	f := e.family(d)
	f.metrics = append(f.metrics, metric{labels: d.pairs(labels), sum: sum, count: count, bounds: quantiles, qvalues: values})
}

// write writes every family in the text format: families by name, the
// metrics of each by label values; a metric whose labels repeat an
// earlier one of its family is left out (the client refused it and served
// the rest).
func (e *exposition) write(w *bufio.Writer) error {
	names := make([]string, 0, len(e.families))
	for n, f := range e.families {
		if len(f.metrics) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var num []byte
	for _, n := range names {
		f := e.families[n]
		ms := dedup(f.metrics)
		sort.SliceStable(ms, func(i, j int) bool { return labelsLess(ms[i].labels, ms[j].labels) })
		w.WriteString("# HELP ")
		w.WriteString(n)
		w.WriteByte(' ')
		writeEscaped(w, f.d.help, false)
		w.WriteString("\n# TYPE ")
		w.WriteString(n)
		w.WriteByte(' ')
		w.WriteString(f.d.typ)
		w.WriteByte('\n')
		for i := range ms {
			m := &ms[i]
			switch f.d.typ {
			case typeHistogram:
				inf := false
				for j, b := range m.bounds {
					num = writeSample(w, num, n, "_bucket", m.labels, "le", b, float64(m.cum[j]))
					inf = inf || math.IsInf(b, +1)
				}
				if !inf {
					num = writeSample(w, num, n, "_bucket", m.labels, "le", math.Inf(+1), float64(m.count))
				}
				num = writeSample(w, num, n, "_sum", m.labels, "", 0, m.sum)
				num = writeSample(w, num, n, "_count", m.labels, "", 0, float64(m.count))
			case typeSummary:
				for j, q := range m.bounds {
					num = writeSample(w, num, n, "", m.labels, "quantile", q, m.qvalues[j])
				}
				num = writeSample(w, num, n, "_sum", m.labels, "", 0, m.sum)
				num = writeSample(w, num, n, "_count", m.labels, "", 0, float64(m.count))
			default:
				num = writeSample(w, num, n, "", m.labels, "", 0, m.value)
			}
		}
	}
	return w.Flush()
}

// dedup drops the metrics whose label values repeat an earlier one's.
func dedup(ms []metric) []metric {
	seen := make(map[string]bool, len(ms))
	out := ms[:0:0]
	for _, m := range ms {
		var k strings.Builder
		for _, p := range m.labels {
			k.WriteString(p.value)
			k.WriteByte(0xff) // never in valid UTF-8
		}
		if seen[k.String()] {
			continue
		}
		seen[k.String()] = true
		out = append(out, m)
	}
	return out
}

func labelsLess(a, b []labelPair) bool {
	for i := range a {
		if i >= len(b) {
			return false
		}
		if a[i].value != b[i].value {
			return a[i].value < b[i].value
		}
	}
	return false
}

// writeSample writes one line: name+suffix, the labels (and extra, a
// bucket's le or a quantile, when named), the value. num is scratch space,
// returned for reuse.
func writeSample(w *bufio.Writer, num []byte, name, suffix string, labels []labelPair, extra string, extraValue, v float64) []byte {
	w.WriteString(name)
	w.WriteString(suffix)
	if len(labels) > 0 || extra != "" {
		w.WriteByte('{')
		for i, p := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(p.name)
			w.WriteString(`="`)
			writeEscaped(w, p.value, true)
			w.WriteByte('"')
		}
		if extra != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extra)
			w.WriteString(`="`)
			num = appendFloat(num[:0], extraValue)
			w.Write(num)
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	num = appendFloat(num[:0], v)
	w.Write(num)
	w.WriteByte('\n')
	return num
}

// appendFloat formats v as the client did: shortest 'g' form, with 1, 0,
// -1, NaN and the infinities spelled out.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, "-1"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// writeEscaped writes s with backslash and newline escaped, and double
// quotes too in a label value.
func writeEscaped(w *bufio.Writer, s string, quote bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			w.WriteString(`\\`)
		case c == '\n':
			w.WriteString(`\n`)
		case c == '"' && quote:
			w.WriteString(`\"`)
		default:
			w.WriteByte(c)
		}
	}
}

// gatherer adds the metrics of one source to a scrape.
type gatherer func(e *exposition)

// metricsHandler serves the text format of what the gatherers add, gzip
// compressed when the scraper prefers it, as promhttp did.
func metricsHandler(gs ...gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e exposition
		for _, g := range gs {
			g(&e)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8; escaping="+escaping(r.Header))
		if gzipped(r.Header) {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			e.write(bufio.NewWriter(gz))
			return
		}
		e.write(bufio.NewWriter(w))
	})
}
