package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestValidateRate: a negative idle rate is refused, and a paced ramp's
// duration is added to the default bound on a trial.
func TestValidateRate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rate        int
		wantErr     bool
		wantTimeout time.Duration
	}{
		{"as fast as possible", 0, false, 3*time.Minute + 2*time.Second},
		{"paced", 500, false, 3*time.Minute + 2*time.Second + 10*time.Second},
		{"negative", -1, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Binary: "x", Conns: 5000, Rate: tc.rate}
			err := c.Validate()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "Rate") {
					t.Errorf("Validate: %v; want an error naming Rate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Timeout != tc.wantTimeout {
				t.Errorf("Timeout = %v; want %v", c.Timeout, tc.wantTimeout)
			}
		})
	}
}

func TestMarkdownRate(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	r.Markdown(&b)
	if strings.Contains(b.String(), "per second in total") {
		t.Errorf("report without a rate mentions one:\n%s", b.String())
	}
	r.Rate = 2000
	b.Reset()
	r.Markdown(&b)
	if !strings.Contains(b.String(), "idle: connections opened at 2000 per second in total") {
		t.Errorf("report with Rate 2000 does not say so:\n%s", b.String())
	}
}

// TestValidateTLS: the key type defaults to ECDSA and the key exchanges
// to CurvesSame with TLS, an unknown one or one without TLS is refused,
// and resume needs TLS as flood needs its absence.
func TestValidateTLS(t *testing.T) {
	for _, tc := range []struct {
		name       string
		scenarios  []string
		tls        bool
		key        string
		wantKey    string
		wantErr    string // part of the error; "" for none
		curves     string
		wantCurves string
	}{
		{"plain", []string{Ramp}, false, "", "", "", "", ""},
		{"tls: ECDSA by default", []string{Ramp}, true, "", KeyECDSA, "", "", CurvesSame},
		{"tls rsa", []string{Ramp}, true, KeyRSA, KeyRSA, "", "", CurvesSame},
		{"tls ecdsa", []string{Ramp}, true, KeyECDSA, KeyECDSA, "", "", CurvesSame},
		{"unknown key", []string{Ramp}, true, "dsa", "", `TLSKey "dsa"`, "", CurvesSame},
		{"key without tls", []string{Ramp}, false, KeyRSA, "", "without TLS", "", ""},
		{"resume with tls", []string{Resume}, true, "", KeyECDSA, "", "", CurvesSame},
		{"resume without tls", []string{Resume}, false, "", "", "needs TLS", "", ""},
		{"flood with tls", []string{Flood}, true, "", "", "flood", "", CurvesSame},
		{"curves own", []string{Ramp}, true, "", KeyECDSA, "", CurvesOwn, CurvesOwn},
		{"curves same", []string{Ramp}, true, "", KeyECDSA, "", CurvesSame, CurvesSame},
		{"unknown curves", []string{Ramp}, true, "", "", `Curves "all"`, "all", ""},
		{"curves without tls", []string{Ramp}, false, "", "", "without TLS", CurvesOwn, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Binary: "x", Scenarios: tc.scenarios, TLS: tc.tls, TLSKey: tc.key, Curves: tc.curves}
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v; want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v; want an error with %q", err, tc.wantErr)
			case err == nil && c.TLSKey != tc.wantKey:
				t.Errorf("got TLSKey %q; want %q", c.TLSKey, tc.wantKey)
			case err == nil && c.TLS && c.Curves != tc.wantCurves:
				t.Errorf("got Curves %q; want %q", c.Curves, tc.wantCurves)
			}
		})
	}
}

func TestScenariosFor(t *testing.T) {
	for _, tc := range []struct {
		tls  bool
		want string
	}{
		{false, "idle,flood,ramp,echo,bulk"},
		{true, "idle,ramp,echo,bulk,resume"},
	} {
		if got := strings.Join(ScenariosFor(tc.tls), ","); got != tc.want {
			t.Errorf("ScenariosFor(%v): got %s; want %s", tc.tls, got, tc.want)
		}
	}
}
