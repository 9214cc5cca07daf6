package check

import (
	"go/ast"
	"go/constant"
	"go/types"
	"slices"

	"golang.org/x/tools/go/analysis"
)

// A handle is a field of a model struct, at index path path (through
// nested groups), whose type is a handle of package types.
type handle struct {
	path []int
	name string // Go names, dotted: Home.City
	typ  types.Type
}

// checkSchema reports the handles of Define's model that its schema
// function never mentions. A schema function that passes the whole object
// to something else (a helper listing fields) is not checked: what it
// lists cannot be told.
func checkSchema(pass *analysis.Pass, call *ast.CallExpr) {
	if len(call.Args) < 2 {
		return
	}
	params, body := funcBody(pass, call.Args[1])
	if body == nil || params == nil || len(params.List) != 1 || len(params.List[0].Names) != 1 {
		return
	}
	obj := pass.TypesInfo.Defs[params.List[0].Names[0]]
	if obj == nil {
		return
	}
	ptr, ok := obj.Type().(*types.Pointer)
	if !ok {
		return
	}
	st, ok := ptr.Elem().Underlying().(*types.Struct)
	if !ok {
		return
	}
	var handles []handle
	collect(st, nil, "", 0, &handles)
	if len(handles) == 0 {
		return
	}

	// Selector chains rooted at the object (u.Home.City.Named(...)): the
	// field path each names. Only outermost selectors start a chain.
	inner := map[*ast.SelectorExpr]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := ast.Unparen(s.X).(*ast.SelectorExpr); ok {
				inner[x] = true
			}
		}
		return true
	})
	uses, chains := 0, 0
	var listed [][]int
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if pass.TypesInfo.Uses[n] == obj {
				uses++
			}
		case *ast.SelectorExpr:
			if inner[n] {
				return true
			}
			if path, ok := fieldPath(pass.TypesInfo, n, obj); ok {
				chains++
				if len(path) > 0 {
					listed = append(listed, path)
				}
			}
		}
		return true
	})
	if uses != chains {
		return // the object itself is passed on: cannot tell what is listed
	}
	model := "the model"
	if tv, ok := pass.TypesInfo.Types[call.Args[0]]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		model = "model " + tv.Value.ExactString()
	}
	qual := func(p *types.Package) string { // types.Str, not its import path
		if p == pass.Pkg {
			return ""
		}
		return p.Name()
	}
	typeName := types.TypeString(ptr.Elem(), qual)
	for _, h := range handles {
		if slices.ContainsFunc(listed, func(l []int) bool { return len(l) <= len(h.path) && slices.Equal(l, h.path[:len(l)]) }) {
			continue
		}
		pass.Reportf(call.Args[1].Pos(), "field %s.%s (%s) is not listed by the schema function of %s: Save ignores it and it always loads absent",
			typeName, h.name, types.TypeString(h.typ, qual), model)
	}
}

// collect appends the handles of struct st (depth-first, through nested
// struct groups; the embedded rapyer.Model is skipped).
func collect(st *types.Struct, prefix []int, name string, depth int, out *[]handle) {
	if depth > 8 {
		return
	}
	for i := range st.NumFields() {
		f := st.Field(i)
		if f.Embedded() && isNamed(f.Type(), rapyerPath, "Model") {
			continue
		}
		path := append(slices.Clone(prefix), i)
		full := f.Name()
		if name != "" {
			full = name + "." + full
		}
		switch {
		case isHandle(f.Type()):
			*out = append(*out, handle{path: path, name: full, typ: f.Type()})
		default:
			if _, isPtr := f.Type().(*types.Pointer); isPtr {
				continue
			}
			if s, ok := f.Type().Underlying().(*types.Struct); ok {
				collect(s, path, full, depth+1, out)
			}
		}
	}
}

// isHandle reports whether t is a handle: a type of package types whose
// pointer has a Named method.
func isHandle(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != typesPath {
		return false
	}
	m, _, _ := types.LookupFieldOrMethod(types.NewPointer(t), true, n.Obj().Pkg(), "Named")
	_, isFunc := m.(*types.Func)
	return isFunc
}

// fieldPath returns the field index path a selector chain rooted at obj
// names (u.Home.City.Named: Home, City), ok false when the chain is not
// rooted at obj.
func fieldPath(info *types.Info, s *ast.SelectorExpr, obj types.Object) ([]int, bool) {
	var sels []*ast.SelectorExpr
	var e ast.Expr = s
	for {
		x, ok := e.(*ast.SelectorExpr)
		if !ok {
			break
		}
		sels = append(sels, x)
		e = ast.Unparen(x.X)
	}
	if star, ok := e.(*ast.StarExpr); ok {
		e = ast.Unparen(star.X)
	}
	id, ok := e.(*ast.Ident)
	if !ok || info.Uses[id] != obj {
		return nil, false
	}
	var path []int
	for i := len(sels) - 1; i >= 0; i-- {
		sel := info.Selections[sels[i]]
		if sel == nil || sel.Kind() != types.FieldVal {
			break
		}
		path = append(path, sel.Index()...)
	}
	return path, true
}
