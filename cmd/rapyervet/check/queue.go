package check

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// checkQueue reports, inside the closure of Store.Tx or Store.Batch, calls
// of rapyer's operations (a function or method of a rapyer package whose
// first parameter is a context.Context) given a context from outside the
// closure, or context.Background/TODO, instead of the queue context: they
// run at once, outside the transaction or batch. Contexts declared inside
// the closure (the queue context, a later closure's parameter, one derived
// from them) are taken as queue contexts.
func checkQueue(pass *analysis.Pass, call *ast.CallExpr, method string) {
	if len(call.Args) < 2 {
		return
	}
	lit, ok := ast.Unparen(call.Args[1]).(*ast.FuncLit)
	if !ok || len(lit.Type.Params.List) == 0 || len(lit.Type.Params.List[0].Names) == 0 {
		return
	}
	q := lit.Type.Params.List[0].Names[0].Name
	what := "transaction"
	if method == "Batch" {
		what = "batch"
	}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || len(c.Args) == 0 {
			return true
		}
		fn := callee(pass.TypesInfo, c)
		if fn == nil || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path()+"/", rapyerPath+"/") {
			return true
		}
		sig, _ := fn.Type().(*types.Signature)
		if sig == nil || sig.Params().Len() == 0 || !isContext(sig.Params().At(0).Type()) {
			return true
		}
		arg := ast.Unparen(c.Args[0])
		if !outside(pass.TypesInfo, arg, lit) {
			return true
		}
		pass.Reportf(arg.Pos(), "%s is called with %s, not the queue context %s of this Store.%s: it runs at once, outside the %s, even if the closure then returns an error",
			name(fn), types.ExprString(arg), q, method, what)
		return true
	})
}

// outside reports whether context expression e comes from outside lit: a
// variable declared outside it, or context.Background() / context.TODO().
func outside(info *types.Info, e ast.Expr, lit *ast.FuncLit) bool {
	switch e := e.(type) {
	case *ast.Ident:
		obj, ok := info.Uses[e].(*types.Var)
		return ok && (obj.Pos() < lit.Pos() || obj.Pos() >= lit.End())
	case *ast.SelectorExpr:
		obj, ok := info.Uses[e.Sel].(*types.Var) // a struct field or package variable
		return ok && (obj.Pos() < lit.Pos() || obj.Pos() >= lit.End())
	case *ast.CallExpr:
		fn := callee(info, e)
		return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "context" && (fn.Name() == "Background" || fn.Name() == "TODO")
	}
	return false
}

// name is fn as a reader knows it: Int.Incr, rapyer.Later.
func name(fn *types.Func) string {
	if r := recvName(fn); r != "" {
		return r + "." + fn.Name()
	}
	return fn.Pkg().Name() + "." + fn.Name()
}
