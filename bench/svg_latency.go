package bench

import (
	"bytes"
	"fmt"
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

	p := newPlot("Echo round trip by percentile (fixed message rate)")
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		p.xTick(x(float64(i)), label)
	}
	for i := 0; i <= 5; i++ {
		vy := maxY * float64(i) / 5
		p.yTick(y(vy), vy)
	}
	p.frame("percentile", "round trip (ms)")
	for _, t := range lines {
		p.line(t.Proxy, func(b *bytes.Buffer) {
			for i, pc := range loadtest.CDFPercentiles {
				if pc > 99.99 {
					break // the maximum is one sample: shown in the table, not here
				}
				fmt.Fprintf(b, "%.1f,%.1f ", x(nines(pc)), y(ms(t.RTT.CDF[i].Seconds())))
			}
		})
	}
	return p.end()
}

func ms(seconds float64) float64 { return seconds * 1000 }
