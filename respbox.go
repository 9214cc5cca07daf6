package rapyer

import "unsafe"

// boxBytes returns *h as an any without copying the slice header into an
// allocation of its own, which converting a []byte to an interface does
// (the runtime boxes any value wider than a pointer): the interface's data
// word points at *h. h must not change afterwards (parseReply's headers
// never do: each is written once, before it is boxed, and hdrs never grows
// past its capacity, so it never moves). The layout of an empty interface
// (type word, data word) is the runtime's, unchanged since Go 1; the tests
// check the result is an ordinary []byte (respread_test.go).
func boxBytes(h *[]byte) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = bytesType, unsafe.Pointer(h)
	return v
}

type eface struct {
	typ, data unsafe.Pointer
}

// bytesType is the type word of a []byte in an interface.
var bytesType = func() unsafe.Pointer {
	var v any = []byte(nil)
	return (*eface)(unsafe.Pointer(&v)).typ
}()
