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

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="22" font-size="15">Proxy RSS while idle WebSockets come up</text>
`, plotW, plotH, plotW, plotH, marginL)
	for i := 0; i <= 5; i++ {
		vx, vy := maxX*float64(i)/5, maxY*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%.0f</text>
<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.4g</text>
`, x(vx), marginT, x(vx), marginT+innerH, x(vx), marginT+innerH+18, vx,
			marginL, y(vy), marginL+innerW, y(vy), marginL-6, y(vy)+4, vy)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>
<text x="%d" y="%d" text-anchor="middle">connections up</text>
<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">RSS (MiB)</text>
`, marginL, marginT, innerW, innerH, marginL+innerW/2, plotH-12, marginT+innerH/2)
	legend := map[string]bool{}
	for _, t := range lines {
		color := colors[t.Proxy]
		if color == "" {
			color = "#555"
		}
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + color + `" points="`)
		for _, p := range t.Curve {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(float64(p.Conns)), y(float64(p.RSS)/(1<<20)))
		}
		b.WriteString("\"/>\n")
		if legend[t.Proxy] { // later rounds share the first round's entry
			continue
		}
		ly := marginT + 10 + 20*len(legend)
		legend[t.Proxy] = true
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>
`, plotW-marginR+15, ly, plotW-marginR+35, ly, color, plotW-marginR+40, ly+4, html.EscapeString(t.Proxy))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
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
