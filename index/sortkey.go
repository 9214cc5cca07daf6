package index

import (
	"fmt"
	"strconv"
	"strings"
)

// SortKey is the sort key of stored text t for an index of kind k
// (serialize.SortKind: 's' strings and bytes, 'i' integers and times, 'f'
// floats, 'b' bools), exactly as lua/index.lua's idx_key computes it (false
// where idx_key gives nil: text that is not the kind's canonical form).
// Byte order of sort keys is value order (numbers and times by value,
// strings byte-wise, false before true), and they hold no "\0". A field's
// index members are SortKey + "\x00" + id, so a tool can read an index
// directly with ZRANGEBYLEX: "[" + k + "\x00" to "(" + k + "\x01" is value
// k.
func SortKey(kind byte, t []byte) (string, bool) {
	switch kind {
	case 's':
		return escapeKey(t), true
	case 'b':
		switch string(t) {
		case "1", "true":
			return "1", true
		case "0", "false":
			return "0", true
		}
	case 'i':
		return intKey(t)
	case 'f':
		return floatKey(t)
	}
	return "", false
}

// escapeKey maps "\0" to "\1\1" and "\1" to "\1\2" (order and prefixes
// kept, no "\0" left).
func escapeKey(t []byte) string {
	var b strings.Builder
	b.Grow(len(t) + 2)
	for _, c := range t {
		switch c {
		case 0:
			b.WriteString("\x01\x01")
		case 1:
			b.WriteString("\x01\x02")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// complementDigits maps each digit c to '9' - c + '0'.
func complementDigits(d []byte) string {
	out := make([]byte, len(d))
	for i, c := range d {
		out[i] = 105 - c
	}
	return string(out)
}

// intKey: zero "\3"; n > 0 with d digits "\4" char(d) digits; n < 0 "\2"
// char(255-d) complemented digits. Canonical decimal text only.
func intKey(t []byte) (string, bool) {
	if string(t) == "0" {
		return "\x03", true
	}
	neg := len(t) > 0 && t[0] == '-'
	d := t
	if neg {
		d = t[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' || !isDigits(d) || len(d) > 19 {
		return "", false
	}
	if !neg {
		return "\x04" + string([]byte{byte(len(d))}) + string(d), true
	}
	return "\x02" + string([]byte{byte(255 - len(d))}) + complementDigits(d), true
}

// floatKey: decimal text as 0.m * 10^e (m without leading or trailing
// zeros): zero "\3"; x > 0 "\4" e+500 (3 digits) m; x < 0 "\2" 499-e (3
// digits) complemented m "~". It accepts what idx_float's patterns accept.
func floatKey(t []byte) (string, bool) {
	s := t
	sign := byte('+')
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		sign, s = s[0], s[1:]
	}
	mant, exp := s, []byte(nil)
	hasExp := false
	if i := indexAny(s, "eE"); i >= 0 {
		mant, exp, hasExp = s[:i], s[i+1:], true
	}
	ip, fp := mant, []byte(nil)
	if i := indexAny(mant, "."); i >= 0 {
		ip, fp = mant[:i], mant[i+1:]
	}
	if !isDigits(ip) || !isDigits(fp) || len(ip) == 0 && len(fp) == 0 {
		return "", false
	}
	e := int64(0)
	if hasExp {
		eneg := false
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			eneg, exp = exp[0] == '-', exp[1:]
		}
		if len(exp) == 0 || !isDigits(exp) {
			return "", false
		}
		for len(exp) > 1 && exp[0] == '0' {
			exp = exp[1:]
		}
		if len(exp) > 15 {
			// Far outside the range (checked below, after zero).
			e = 1 << 50
		} else {
			e, _ = strconv.ParseInt(string(exp), 10, 64)
		}
		if eneg {
			e = -e
		}
	}
	digits := append(append([]byte(nil), ip...), fp...)
	e += int64(len(ip))
	lead := -1
	for i, c := range digits {
		if c != '0' {
			lead = i
			break
		}
	}
	if lead < 0 {
		return "\x03", true
	}
	e -= int64(lead)
	digits = digits[lead:]
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if e+500 < 0 || e+500 > 999 {
		return "", false
	}
	if sign != '-' {
		return "\x04" + fmt.Sprintf("%03d", e+500) + string(digits), true
	}
	return "\x02" + fmt.Sprintf("%03d", 499-e) + complementDigits(digits) + "~", true
}

func indexAny(b []byte, chars string) int {
	for i, c := range b {
		if strings.IndexByte(chars, c) >= 0 {
			return i
		}
	}
	return -1
}

// clipText shortens stored text quoted in error messages.
func clipText(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
