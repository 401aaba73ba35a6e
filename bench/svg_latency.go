package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"

	"wsproxy/loadtest"
)

// LatencySVG plots, for every echo trial, the round-trip time against the
// percentile, one colour per proxy (rounds share it), or returns nil when
// no echo trial has a distribution. The x axis is HdrHistogram's: evenly
// spaced nines (0, 90, 99, 99.9, 99.99 %), so the tail, where proxies
// differ, gets as much room as the median.
func (r *Report) LatencySVG() []byte {
	var lines []Trial
	maxY := 0.1
	for _, t := range r.Trials {
		if t.Scenario != Echo || len(t.RTT.CDF) != len(loadtest.CDFPercentiles) {
			continue
		}
		lines = append(lines, t)
		for i, v := range t.RTT.CDF {
			if loadtest.CDFPercentiles[i] <= 99.99 { // the plotted points
				maxY = math.Max(maxY, ms(v.Seconds()))
			}
		}
	}
	if lines == nil {
		return nil
	}
	const maxNines = 4.0 // 99.99 %
	nines := func(p float64) float64 { return math.Min(maxNines, -math.Log10(1-math.Min(p, 99.99)/100)) }
	maxY = niceCeil(maxY)
	x := func(n float64) float64 { return marginL + n/maxNines*innerW }
	y := func(v float64) float64 { return marginT + innerH - v/maxY*innerH }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="22" font-size="15">Echo round trip by percentile (fixed message rate)</text>
`, plotW, plotH, plotW, plotH, marginL)
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>
`, x(float64(i)), marginT, x(float64(i)), marginT+innerH, x(float64(i)), marginT+innerH+18, label)
	}
	for i := 0; i <= 5; i++ {
		vy := maxY * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.4g</text>
`, marginL, y(vy), marginL+innerW, y(vy), marginL-6, y(vy)+4, vy)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>
<text x="%d" y="%d" text-anchor="middle">percentile</text>
<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">round trip (ms)</text>
`, marginL, marginT, innerW, innerH, marginL+innerW/2, plotH-12, marginT+innerH/2)
	legend := map[string]bool{}
	for _, t := range lines {
		color := colors[t.Proxy]
		if color == "" {
			color = "#555"
		}
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + color + `" points="`)
		for i, p := range loadtest.CDFPercentiles {
			if p > 99.99 {
				break // the maximum is one sample: shown in the table, not here
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x(nines(p)), y(ms(t.RTT.CDF[i].Seconds())))
		}
		b.WriteString("\"/>\n")
		if legend[t.Proxy] {
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

func ms(seconds float64) float64 { return seconds * 1000 }
