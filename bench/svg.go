package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH   = 720, 420
	marginL        = 70
	marginR        = 150
	marginT        = 40
	marginB        = 50
	innerW, innerH = plotW - marginL - marginR, plotH - marginT - marginB
)

// colors of the proxies' lines.
var colors = map[string]string{Wsproxy: "#1f77b4", Nginx: "#2ca02c", HAProxy: "#d62728"}

// SVG plots, for every idle trial, the proxy's RSS (MiB) against the
// connections up at the time, one colour per proxy (rounds share it). It is
// a complete standalone SVG document.
func (r *Report) SVG() []byte {
	var lines []Trial
	maxX, maxY := 1.0, 1.0
	for _, t := range r.Trials {
		if t.Scenario != Idle || len(t.Curve) == 0 {
			continue
		}
		lines = append(lines, t)
		for _, p := range t.Curve {
			maxX = math.Max(maxX, float64(p.Conns))
			maxY = math.Max(maxY, float64(p.RSS)/(1<<20))
		}
	}
	maxX, maxY = niceCeil(maxX), niceCeil(maxY)
	x := func(v float64) float64 { return marginL + v/maxX*innerW }
	y := func(v float64) float64 { return marginT + innerH - v/maxY*innerH }

	p := newPlot("Proxy RSS while idle WebSockets come up")
	for i := 0; i <= 5; i++ {
		vx, vy := maxX*float64(i)/5, maxY*float64(i)/5
		p.xTick(x(vx), fmt.Sprintf("%.0f", vx))
		p.yTick(y(vy), vy)
	}
	p.frame("connections up", "RSS (MiB)")
	for _, t := range lines {
		p.line(t.Proxy, func(b *bytes.Buffer) {
			for _, pt := range t.Curve {
				fmt.Fprintf(b, "%.1f,%.1f ", x(float64(pt.Conns)), y(float64(pt.RSS)/(1<<20)))
			}
		})
	}
	return p.end()
}

// plot is an SVG document being written: a title, a frame with ticks and
// labels, one polyline per trial with a legend entry per proxy (later
// rounds share the first round's colour and entry).
type plot struct {
	b      bytes.Buffer
	legend map[string]bool
}

func newPlot(title string) *plot {
	p := &plot{legend: map[string]bool{}}
	fmt.Fprintf(&p.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="22" font-size="15">%s</text>
`, plotW, plotH, plotW, plotH, marginL, html.EscapeString(title))
	return p
}

// xTick draws a vertical grid line at x with label under the axis.
func (p *plot) xTick(x float64, label string) {
	fmt.Fprintf(&p.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>
`, x, marginT, x, marginT+innerH, x, marginT+innerH+18, label)
}

// yTick draws a horizontal grid line at y labelled v.
func (p *plot) yTick(y, v float64) {
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.4g</text>
`, marginL, y, marginL+innerW, y, marginL-6, y+4, v)
}

// frame draws the plot area's border and the axis labels.
func (p *plot) frame(xlabel, ylabel string) {
	fmt.Fprintf(&p.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>
<text x="%d" y="%d" text-anchor="middle">%s</text>
<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>
`, marginL, marginT, innerW, innerH, marginL+innerW/2, plotH-12, html.EscapeString(xlabel), marginT+innerH/2, html.EscapeString(ylabel))
}

// line draws one polyline in proxy's colour, its points written by points,
// and the proxy's legend entry the first time.
func (p *plot) line(proxy string, points func(b *bytes.Buffer)) {
	color := colors[proxy]
	if color == "" {
		color = "#555"
	}
	p.b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + color + `" points="`)
	points(&p.b)
	p.b.WriteString("\"/>\n")
	if p.legend[proxy] {
		return
	}
	ly := marginT + 10 + 20*len(p.legend)
	p.legend[proxy] = true
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>
`, plotW-marginR+15, ly, plotW-marginR+35, ly, color, plotW-marginR+40, ly+4, html.EscapeString(proxy))
}

func (p *plot) end() []byte {
	p.b.WriteString("</svg>\n")
	return p.b.Bytes()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
