package testkit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func resp(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// TestRespScanner: command names come out whatever the pieces the stream
// arrives in, large and empty arguments included.
func TestRespScanner(t *testing.T) {
	stream := resp("evalsha", "abc", "1", "k") + resp("HGETALL", "") + resp("SET", "k", strings.Repeat("v\r\n", 5000)) + resp("PING")
	want := "[EVALSHA HGETALL SET PING]"
	for try := 0; try < 200; try++ {
		var s respScanner
		var got []string
		b := []byte(stream)
		for len(b) > 0 {
			n := 1 + rand.IntN(min(len(b), 1+rand.IntN(40000)))
			s.feed(b[:n], func(name string) { got = append(got, name) })
			b = b[n:]
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("try %d: %v, want %s", try, got, want)
		}
	}
}
