package ops

import "github.com/rapyer-go/rapyer/serialize"

// TolerantLocal is a Local that can load element by element: a load with
// rapyer.Tolerant keeps what decodes and drops only the elements that do
// not, instead of the whole field. Package types implements it for List,
// Map, Set and SortedSet; a Local without it is dropped whole.
type TolerantLocal interface {
	Local
	// StageTolerant is Stage that skips every element (a list element, a
	// map entry, a set member, a sorted-set member) that does not decode,
	// and returns one error per element skipped, naming its position (a
	// list's, a sorted set's in score order) or its stored key or member.
	StageTolerant(flat [][]byte, fb serialize.Fallback) []error
}
