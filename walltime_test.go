package oktasso

// No test asserts that something was fast. On a shared or busy machine
// anything can be slow: a test that fails when work takes too long fails
// for the machine, not for the code. Speed is measured by benchmarks.
//
// What stays allowed:
//   - a timeout that stops a test that would otherwise hang (select on
//     time.After, a client's Timeout, a context deadline, a deadline loop):
//     it fails only when something never finishes, with a margin far above
//     any slowness;
//   - a lower bound (a delay was honoured: took >= delay), which a busy
//     machine cannot break.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoWallClockUpperBounds fails on a test, in any module of the
// repository, that compares a duration measured on the wall clock
// (time.Since, time.Until, time.Now().Sub, or a helper returning one) so
// that it fails when the duration is large.
func TestNoWallClockUpperBounds(t *testing.T) {
	files := map[string][]*ast.File{} // by directory: helpers are shared by a package's files
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files[filepath.Dir(path)] = append(files[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fs := range files {
		n += len(fs)
		for _, pos := range wallClockUpperBounds(fs) {
			t.Errorf("%s: a test fails when this duration, measured on the wall clock, is large; assert counts or sizes, or measure it in a benchmark", fset.Position(pos))
		}
	}
	if n < 50 {
		t.Errorf("found %d test files; want the repository's", n)
	}
}

// TestWallClockUpperBoundsFound: the check above finds upper bounds in
// each form the repository had, and lets lower bounds and hang guards be.
func TestWallClockUpperBoundsFound(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       int
	}{
		{"elapsed variable", `start := time.Now(); work(); elapsed := time.Since(start); if elapsed > time.Minute { t.Error() }`, 1},
		{"inline", `start := time.Now(); if err != nil || time.Since(start) > 5*time.Second { t.Error() }`, 1},
		{"if with init", `start := time.Now(); if took := time.Since(start); took > time.Second { t.Error() }`, 1},
		{"at least", `start := time.Now(); if took := time.Since(start); took >= time.Second { t.Error() }`, 1},
		{"on the right", `start := time.Now(); if time.Second < time.Since(start) { t.Error() }`, 1},
		{"negated lower bound", `start := time.Now(); if !(time.Since(start) < time.Second) { t.Error() }`, 1},
		{"a helper's durations, summed", `var a, b time.Duration; for range 3 { a += timed(); b += timed() }; if b > 5*a { t.Error() }`, 1},
		{"Now().Sub", `start := time.Now(); d := time.Now().Sub(start); if d > time.Second { t.Error() }`, 1},
		{"in a closure", `f := func() { start := time.Now(); if time.Since(start) > time.Second { t.Error() } }; f()`, 1},
		{"kept as a bool", `start := time.Now(); slow := time.Since(start) > time.Second; _ = slow`, 1},
		{"lower bound", `start := time.Now(); if took := time.Since(start); took < delay || code != 200 { t.Error() }`, 0},
		{"lower bound on the right", `start := time.Now(); if delay > time.Since(start) { t.Error() }`, 0},
		{"logged only", `start := time.Now(); t.Logf("took %v", time.Since(start))`, 0},
		{"hang guard", `select { case <-done: case <-time.After(10 * time.Second): t.Fatal("hung") }`, 0},
		{"deadline loop", `for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); { poll() }`, 0},
		{"durations not measured", `if d := 2 * time.Second; d > time.Second { t.Error() }`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\nimport \"time\"\nfunc timed() time.Duration { start := time.Now(); return time.Since(start) }\nfunc TestX(t *testing.T) {\n" + tt.body + "\n}\n"
			f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(wallClockUpperBounds([]*ast.File{f})); got != tt.want {
				t.Errorf("found %d upper bounds; want %d in\n%s", got, tt.want, tt.body)
			}
		})
	}
}

// wallClockUpperBounds returns where the functions of a package's test
// files (benchmarks aside) compare a measured duration as an upper bound.
func wallClockUpperBounds(files []*ast.File) []token.Pos {
	// Helpers that return a measured duration, like a function timing a
	// request.
	timers := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil && fn.Recv == nil && returnsMeasured(fn, nil) {
				timers[fn.Name.Name] = true
			}
		}
	}
	var found []token.Pos
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || strings.HasPrefix(fn.Name.Name, "Benchmark") {
				continue
			}
			found = append(found, upperBoundsIn(fn.Body, timers)...)
		}
	}
	return found
}

// returnsMeasured reports whether fn returns a duration it measured.
func returnsMeasured(fn *ast.FuncDecl, timers map[string]bool) bool {
	measured := false
	tainted := taintedNames(fn.Body, timers)
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if r, ok := n.(*ast.ReturnStmt); ok {
			for _, e := range r.Results {
				measured = measured || isMeasured(e, tainted, timers)
			}
		}
		return true
	})
	return measured
}

// taintedNames returns the variables of body that hold a measured
// duration, or one derived from it.
func taintedNames(body *ast.BlockStmt, timers map[string]bool) map[string]bool {
	tainted := map[string]bool{}
	for changed := true; changed; {
		changed = false
		ast.Inspect(body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for i, lhs := range as.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || tainted[id.Name] {
					continue
				}
				rhs := as.Rhs[min(i, len(as.Rhs)-1)]
				if isMeasured(rhs, tainted, timers) {
					tainted[id.Name] = true
					changed = true
				}
			}
			return true
		})
	}
	return tainted
}

// isMeasured reports whether e involves a duration measured on the wall
// clock: time.Since, time.Until, time.Now().Sub, a timer helper, or a
// tainted variable.
func isMeasured(e ast.Expr, tainted, timers map[string]bool) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			found = found || tainted[n.Name]
		case *ast.CallExpr:
			switch fun := n.Fun.(type) {
			case *ast.Ident:
				found = found || timers[fun.Name]
			case *ast.SelectorExpr:
				if x, ok := fun.X.(*ast.Ident); ok && x.Name == "time" && (fun.Sel.Name == "Since" || fun.Sel.Name == "Until") {
					found = true
				}
				if call, ok := fun.X.(*ast.CallExpr); ok && fun.Sel.Name == "Sub" && isTimeNow(call) {
					found = true
				}
			}
		case *ast.FuncLit:
			return false // a closure is looked at on its own
		}
		return !found
	})
	return found
}

func isTimeNow(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "time" && sel.Sel.Name == "Now"
}

// upperBoundsIn returns the comparisons in body that fail a test when a
// measured duration is large. A comparison in an if condition is read as
// the failure condition: "measured > limit" there is an upper bound,
// "measured < delay" a lower bound. One anywhere else counts as an upper
// bound, as its use cannot be told.
func upperBoundsIn(body *ast.BlockStmt, timers map[string]bool) []token.Pos {
	tainted := taintedNames(body, timers)
	inCond := map[*ast.BinaryExpr]bool{} // comparisons read in an if condition, and whether negated
	var found []token.Pos
	var polarity func(e ast.Expr, negated bool)
	polarity = func(e ast.Expr, negated bool) {
		switch e := e.(type) {
		case *ast.ParenExpr:
			polarity(e.X, negated)
		case *ast.UnaryExpr:
			if e.Op == token.NOT {
				polarity(e.X, !negated)
			}
		case *ast.BinaryExpr:
			if e.Op == token.LOR || e.Op == token.LAND {
				polarity(e.X, negated)
				polarity(e.Y, negated)
				return
			}
			inCond[e] = negated
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if s, ok := n.(*ast.IfStmt); ok {
			polarity(s.Cond, false)
		}
		return true
	})
	ast.Inspect(body, func(n ast.Node) bool {
		e, ok := n.(*ast.BinaryExpr)
		if !ok || !slices.Contains([]token.Token{token.LSS, token.LEQ, token.GTR, token.GEQ}, e.Op) {
			return true
		}
		left, right := isMeasured(e.X, tainted, timers), isMeasured(e.Y, tainted, timers)
		if !left && !right {
			return true
		}
		negated, cond := inCond[e]
		if !cond {
			found = append(found, e.Pos())
			return true
		}
		greater := e.Op == token.GTR || e.Op == token.GEQ // fails when X is large
		if negated {
			greater = !greater
		}
		if (left && greater) || (right && !greater) {
			found = append(found, e.Pos())
		}
		return true
	})
	return found
}
