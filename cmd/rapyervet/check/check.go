// Package check is rapyervet's analyzer: the schema and queue checks (see
// the command's documentation). It knows rapyer's packages by import path
// and needs no import of them.
package check

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Import paths of the packages the checks know.
const (
	rapyerPath = "github.com/rapyer-go/rapyer"
	typesPath  = rapyerPath + "/types"
)

// Analyzer reports handle fields a Define schema function leaves out, and
// operations in a Tx or Batch closure called with another context than the
// queue context.
var Analyzer = &analysis.Analyzer{
	Name:     "rapyervet",
	Doc:      "report model handles that Define's schema function does not list, and operations in Store.Tx/Store.Batch closures not called with the queue context",
	URL:      "https://pkg.go.dev/github.com/rapyer-go/rapyer/cmd/rapyervet",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

func run(pass *analysis.Pass) (any, error) {
	in := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	in.Preorder([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node) {
		call := n.(*ast.CallExpr)
		fn := callee(pass.TypesInfo, call)
		if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != rapyerPath {
			return
		}
		switch {
		case fn.Name() == "Define" && recvName(fn) == "":
			checkSchema(pass, call)
		case (fn.Name() == "Tx" || fn.Name() == "Batch") && recvName(fn) == "Store":
			checkQueue(pass, call, fn.Name())
		}
	})
	return nil, nil
}

// callee returns the function or method call calls, nil for anything else
// (a conversion, a call of a func value).
func callee(info *types.Info, call *ast.CallExpr) *types.Func {
	f := ast.Unparen(call.Fun)
	if ix, ok := f.(*ast.IndexExpr); ok { // Define[T, P](...)
		f = ix.X
	} else if ix, ok := f.(*ast.IndexListExpr); ok {
		f = ix.X
	}
	var id *ast.Ident
	switch f := f.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

// recvName is the name of fn's receiver's type, "" for a function.
func recvName(fn *types.Func) string {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}

// isNamed reports whether t (or what it points to) is the named type
// path.name.
func isNamed(t types.Type, path, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

// isContext reports whether t is context.Context.
func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }

// funcBody returns the parameters and body of the function e denotes: a
// function literal, or a function of this package named by an identifier.
func funcBody(pass *analysis.Pass, e ast.Expr) (*ast.FieldList, *ast.BlockStmt) {
	switch e := ast.Unparen(e).(type) {
	case *ast.FuncLit:
		return e.Type.Params, e.Body
	case *ast.Ident:
		fn, ok := pass.TypesInfo.Uses[e].(*types.Func)
		if !ok {
			return nil, nil
		}
		for _, f := range pass.Files {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && pass.TypesInfo.Defs[fd.Name] == fn {
					return fd.Type.Params, fd.Body
				}
			}
		}
	}
	return nil, nil
}
