package codec

import "testing"

func TestBodyScanner(t *testing.T) {
	tests := []struct {
		name   string
		kind   BodyKind
		n      int64
		pieces []string
		used   []int
		done   int // index of the piece the body ends in; -1 never
	}{
		{"none", BodyNone, 0, []string{"GET"}, []int{0}, 0},
		{"length", BodyLength, 5, []string{"ab", "cdeGET"}, []int{2, 3}, 1},
		{"chunked", BodyChunked, -1, []string{"3\r\nabc\r\n", "0\r\n\r\nGET"}, []int{8, 5}, 1},
		{"until close", BodyUntilClose, -1, []string{"abc", "def"}, []int{3, 3}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b BodyScanner
			b.Reset(tt.kind, tt.n)
			for i, p := range tt.pieces {
				n, done, err := b.Scan([]byte(p))
				if err != nil || n != tt.used[i] || done != (i == tt.done) {
					t.Fatalf("piece %d: Scan = %d, %v, %v; want %d, %v", i, n, done, err, tt.used[i], i == tt.done)
				}
				if done {
					break
				}
			}
		})
	}
}
