package codec

// MaxChunkLine bounds each chunk-size line (size and extensions) and each
// trailer field line, in bytes including CRLF. Extensions and trailers are
// forwarded but never used, so a peer could otherwise stream an endless
// line through the proxy (net/http bounds extensions for the same reason).
const MaxChunkLine = 4096

// ChunkedScanner finds the end of a chunked body (RFC 9112 §7.1) passing
// through the proxy; it does not decode: the caller forwards the bytes as
// they are. The zero value is ready to scan a body; Reset readies it for
// the next one. It is strict where leniency lets two parsers disagree on
// where the body ends: lines end in CRLF only (bare LF was CVE-2025-22871 in
// net/http), sizes must fit in int64, and extensions must follow the grammar.
//
// Only payload bytes are skipped without looking; the framing is read one
// byte at a time, which costs nothing next to the system calls around it.
type ChunkedScanner struct {
	state   chunkState
	size    int64 // chunk size while reading it, then data bytes left
	line    int   // bytes of the current size or trailer line
	trailer int   // trailer field lines so far
	err     error // sticky
}

type chunkState uint8

// The states, in the order the grammar visits them.
const (
	csSize          chunkState = iota // first hex digit of chunk-size
	csSizeMore                        // more digits, BWS, ';' or CR
	csExtBWS                          // after size or ext value: BWS, ';' or CR
	csExtName                         // after ';': BWS, then first tchar of a name
	csExtNameMore                     // rest of the name, BWS, '=', ';' or CR
	csExtNameBWS                      // BWS after a name: '=', ';' or CR
	csExtValue                        // after '=': BWS, then token or quoted-string
	csExtToken                        // rest of a token value
	csExtQuoted                       // inside a quoted-string
	csExtQuotedPair                   // after '\' in a quoted-string
	csSizeLF                          // LF ending the size line
	csData                            // chunk data, skipped by count
	csDataCR                          // CR after data
	csDataLF                          // LF after data
	csTrailer                         // start of a trailer line, or CR of the last line
	csTrailerName                     // field name
	csTrailerValue                    // field value up to CR
	csTrailerLF                       // LF ending a trailer line
	csLastLF                          // LF of the final empty line
	csDone
)

// Reset readies s for a new body.
func (s *ChunkedScanner) Reset() { *s = ChunkedScanner{} }

// Scan consumes buf up to the end of the chunked body: last chunk, trailer
// section and final CRLF. It returns n < len(buf) only when done (the rest
// of buf is the next message) or on error. Bodies split at any byte across
// calls scan the same. After the end it returns (0, true, nil); after an
// error, the same error: both until Reset. Errors wrap ErrMalformedChunk,
// and n is then the offset of the offending byte.
func (s *ChunkedScanner) Scan(buf []byte) (n int, done bool, err error) {
	if s.err != nil {
		return 0, false, s.err
	}
	if s.state == csDone {
		return 0, true, nil
	}
	for n < len(buf) {
		if s.state == csData {
			if left := int64(len(buf) - n); s.size >= left {
				s.size -= left
				return len(buf), false, nil
			}
			n += int(s.size)
			s.size = 0
			s.state = csDataCR
			continue
		}
		c := buf[n]
		var err error
		if s.state < csData {
			err = s.stepSize(c)
		} else {
			err = s.stepTrailer(c)
		}
		if err != nil {
			s.err = err
			return n, false, err
		}
		n++
		if s.state == csDone {
			return n, true, nil
		}
	}
	return n, false, nil
}

// stepSize advances through chunk-size [ chunk-ext ] CRLF by one byte.
func (s *ChunkedScanner) stepSize(c byte) error {
	if s.line++; s.line > MaxChunkLine {
		return ErrChunkLineTooLong
	}
	isWS := c == ' ' || c == '\t'
	switch s.state {
	case csSize, csSizeMore:
		if d := unhex(c); d >= 0 {
			if s.size > (1<<63-1)>>4 {
				return ErrChunkSizeOverflow
			}
			s.size, s.state = s.size<<4|int64(d), csSizeMore
			return nil
		}
		if s.state == csSize {
			return ErrChunkSize
		}
		return s.extEnd(c, isWS, csExtBWS)
	case csExtBWS:
		return s.extEnd(c, isWS, csExtBWS)
	case csExtName:
		if isToken(c) {
			s.state = csExtNameMore
		} else if !isWS {
			return ErrChunkExtension
		}
	case csExtNameMore, csExtNameBWS:
		if c == '=' {
			s.state = csExtValue
		} else if s.state == csExtNameBWS || !isToken(c) {
			return s.extEnd(c, isWS, csExtNameBWS)
		}
	case csExtValue:
		switch {
		case c == '"':
			s.state = csExtQuoted
		case isToken(c):
			s.state = csExtToken
		case !isWS:
			return ErrChunkExtension
		}
	case csExtToken:
		if !isToken(c) {
			return s.extEnd(c, isWS, csExtBWS)
		}
	case csExtQuoted:
		switch {
		case c == '"':
			s.state = csExtBWS
		case c == '\\':
			s.state = csExtQuotedPair
		case c < ' ' && c != '\t' || c == 0x7f:
			return ErrChunkExtension
		}
	case csExtQuotedPair:
		if c < ' ' && c != '\t' || c == 0x7f {
			return ErrChunkExtension
		}
		s.state = csExtQuoted
	case csSizeLF:
		if c != '\n' {
			return ErrChunkCRLF
		}
		s.line = 0
		s.state = csData
		if s.size == 0 {
			s.state = csTrailer
		}
	}
	return nil
}

// extEnd handles a byte that ends a size, name or value: BWS (moving to
// wsState), ';' (next extension) or the CR of the line end.
func (s *ChunkedScanner) extEnd(c byte, isWS bool, wsState chunkState) error {
	switch {
	case isWS:
		s.state = wsState
	case c == ';':
		s.state = csExtName
	case c == '\r':
		s.state = csSizeLF
	case s.state == csSizeMore:
		return ErrChunkSize
	default:
		return ErrChunkExtension
	}
	return nil
}

// stepTrailer advances through the CRLF after data and through
// trailer-section CRLF by one byte.
func (s *ChunkedScanner) stepTrailer(c byte) error {
	switch s.state {
	case csDataCR:
		if c != '\r' {
			return ErrChunkCRLF
		}
		s.state = csDataLF
		return nil
	case csDataLF:
		if c != '\n' {
			return ErrChunkCRLF
		}
		s.state = csSize
		return nil
	}
	if s.line++; s.line > MaxChunkLine {
		return ErrChunkLineTooLong
	}
	switch s.state {
	case csTrailer:
		switch {
		case c == '\r':
			s.state = csLastLF
		case isToken(c) && s.trailer < MaxHeaders:
			s.trailer++
			s.state = csTrailerName
		default: // obs-fold, a bad name, or too many fields
			return ErrChunkTrailer
		}
	case csTrailerName:
		if c == ':' {
			s.state = csTrailerValue
		} else if !isToken(c) {
			return ErrChunkTrailer
		}
	case csTrailerValue:
		if c == '\r' {
			s.state = csTrailerLF
		} else if c < ' ' && c != '\t' || c == 0x7f {
			return ErrChunkTrailer
		}
	case csTrailerLF, csLastLF:
		if c != '\n' {
			return ErrChunkCRLF
		}
		s.line = 0
		if s.state == csLastLF {
			s.state = csDone
		} else {
			s.state = csTrailer
		}
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
