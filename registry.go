package rapyer

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// The registry of defined models: Define adds every schema under its name,
// so that calls by key (GetKey, FindKeys, FindOneKey, DeleteKeys) find the
// model a key belongs to, and so that two definitions of one name (which
// would share keys) are found at start-up. It is the package's one piece of
// global state, written only by Define.
var registry = struct {
	sync.RWMutex
	byName map[string]*registered
}{byName: map[string]*registered{}}

// registered is one defined model.
type registered struct {
	sc   *schema
	site string                            // file:line of its Define call
	make func(st *Store, id string) Object // a new object of it, nothing loaded
}

// Redefine lets Define replace an earlier definition of the same model name
// instead of panicking: the new schema is the one the calls by key use from
// then on. It is meant for tests that define a model several times (a schema
// before and after a change, say); two live definitions of one name share
// keys. A Define called again from the same line (a test function run
// twice, or once per backend) needs no option. Default: off.
func Redefine() ModelOption {
	return modelOptionFunc(func(s *schema) { s.redefine = true })
}

// register adds sc, defined at site, to the registry, or panics when
// another line already defined its name.
func register(sc *schema, site string, mk func(*Store, string) Object) {
	registry.Lock()
	defer registry.Unlock()
	if old, ok := registry.byName[sc.name]; ok && old.site != site && !sc.redefine {
		panic(fmt.Sprintf("rapyer: model %q defined twice, at %s and at %s: the two would share keys; give one another name (or pass rapyer.Redefine() where replacing it is meant, as in tests)", sc.name, old.site, site))
	}
	registry.byName[sc.name] = &registered{sc: sc, site: site, make: mk}
}

// callSite is the file:line of the caller of Define.
func callSite() string {
	_, file, line, ok := runtime.Caller(2)
	if !ok {
		return "unknown"
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// lookup returns the model defined as name.
func lookup(name string) (*registered, bool) {
	registry.RLock()
	defer registry.RUnlock()
	r, ok := registry.byName[name]
	return r, ok
}

// Models returns the names of every model defined in this process, sorted.
func Models() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.byName))
	for n := range registry.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
