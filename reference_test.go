package oktasso

// These tests keep README.md and docs/ in step with the code: the
// environment variables ConfigFromEnv reads, the Config field paths, the
// routes Auth.Handler serves, the audit vocabulary, the Go blocks (each must
// be in an Example) and the links.

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const referenceDoc = "docs/REFERENCE.md"

// checkedDocs are the files whose every variable, field path, route path,
// Go block and link is checked against the code.
var checkedDocs = []string{"README.md", referenceDoc, "docs/GUIDE.md"}

func TestReadmeSize(t *testing.T) {
	const maxBytes = 12 << 10
	if n := len(readDoc(t, "README.md")); n > maxBytes {
		t.Errorf("README.md has %d bytes, want at most %d: move reference material to docs/", n, maxBytes)
	}
}

// TestReferenceEnvironment checks that the variables ConfigFromEnv reads are
// exactly those of the reference's "Environment variables" table, and that
// every OKTA_* or OKTASSO_* name the docs mention is either one of them or a
// variable of another program listed under "Variables read by other
// programs" (which must really be a string in that program's Go files).
func TestReferenceEnvironment(t *testing.T) {
	read := envRead()
	declared := envConstants(t)
	for _, name := range declared {
		if !read[name] {
			t.Errorf("config.go declares %s but ConfigFromLookup never asks for it (or this test does not reach it)", name)
		}
	}
	if len(read) < 10 {
		t.Fatalf("ConfigFromLookup asked for %d variables; the recording lookup is broken", len(read))
	}

	doc := readDoc(t, referenceDoc)
	documented := map[string]bool{}
	for _, row := range tableRows(t, section(t, doc, "Environment variables")) {
		for _, name := range backticked(row[0]) {
			documented[name] = true
		}
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("%s: ConfigFromEnv reads %s, missing from the \"Environment variables\" table", referenceDoc, name)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("%s: the \"Environment variables\" table lists %s, which ConfigFromEnv does not read", referenceDoc, name)
		}
	}

	// Variables of other programs: a row names them and the directories
	// whose Go files read them.
	other := map[string]bool{}
	for _, row := range tableRows(t, section(t, doc, "Variables read by other programs")) {
		if len(row) < 2 || len(backticked(row[1])) == 0 {
			t.Errorf("%s: row %q of \"Variables read by other programs\" names no directory", referenceDoc, row[0])
			continue
		}
		for _, name := range backticked(row[0]) {
			other[name] = true
			for _, dir := range backticked(row[1]) {
				if !dirHasString(t, dir, strconv.Quote(name)) {
					t.Errorf("%s: %s is said to be read in %s, but no Go file there has %q", referenceDoc, name, dir, name)
				}
			}
		}
	}

	envName := regexp.MustCompile(`\bOKTA(?:SSO)?_[A-Z0-9_]*[A-Z0-9]\b`)
	for _, file := range checkedDocs {
		for _, name := range envName.FindAllString(readDoc(t, file), -1) {
			if !read[name] && !other[name] {
				t.Errorf("%s mentions %s, which neither ConfigFromEnv nor a program in %s's \"Variables read by other programs\" reads", file, name, referenceDoc)
			}
		}
	}
}

// envRead returns the variables ConfigFromLookup asks for, recorded in
// runs that reach every branch: nothing set, and private_key_jwt chosen.
func envRead() map[string]bool {
	read := map[string]bool{}
	for _, env := range []map[string]string{
		{},
		{envClientAuth: string(PrivateKeyJWT)},
	} {
		ConfigFromLookup(func(name string) (string, bool) {
			read[name] = true
			v, ok := env[name]
			return v, ok
		})
	}
	return read
}

// envConstants returns the values of the env* string constants of the
// package's source.
func envConstants(t *testing.T) []string {
	t.Helper()
	var names []string
	for name, v := range packageConstants(t, ".") {
		if strings.HasPrefix(name, "env") {
			names = append(names, v)
		}
	}
	if len(names) == 0 {
		t.Fatal("found no env* constants in the package's source")
	}
	return names
}

// TestReferenceConfigFields checks that the reference's "Config fields"
// tables list every exported field path of Config and its nested groups,
// and nothing else, and that every field path the docs mention exists.
func TestReferenceConfigFields(t *testing.T) {
	paths, groups := configFieldPaths()
	doc := readDoc(t, referenceDoc)
	documented := map[string]bool{}
	for _, row := range tableRows(t, section(t, doc, "Config fields")) {
		for _, p := range backticked(row[0]) {
			documented[p] = true
		}
	}
	for p := range paths {
		if !documented[p] {
			t.Errorf("%s: Config field %s is missing from the \"Config fields\" tables", referenceDoc, p)
		}
	}
	for p := range documented {
		if !paths[p] {
			t.Errorf("%s: the \"Config fields\" tables list %s, which is not a field of Config", referenceDoc, p)
		}
	}

	// Mentions: Config.X.Y (but not pkg.Config of another package),
	// cfg.X.Y, and `Group.X` in backticks.
	configRef := regexp.MustCompile(`(?:(\w+)\.)?\b(Config|cfg)\.([A-Z]\w*(?:\.[A-Z]\w*)*)`)
	for _, file := range checkedDocs {
		text := readDoc(t, file)
		var mentions []string
		for _, m := range configRef.FindAllStringSubmatch(text, -1) {
			if m[1] != "" && m[1] != "oktasso" {
				continue // another package's Config (bearer.Config, tenants.Config)
			}
			if m[2] == "Config" && methodOfConfig(m[3]) {
				continue // Config.Normalize
			}
			mentions = append(mentions, m[3])
		}
		for _, span := range backticked(text) {
			group, _, ok := strings.Cut(span, ".")
			if ok && groups[group] && regexp.MustCompile(`^[A-Z]\w*(\.[A-Z]\w*)+$`).MatchString(span) {
				mentions = append(mentions, span)
			}
		}
		for _, p := range mentions {
			if !paths[p] {
				t.Errorf("%s mentions the Config field %s, which does not exist", file, p)
			}
		}
	}
}

// configFieldPaths walks Config with reflect: every exported field by its
// path ("Session.IdleTimeout"), descending into the struct types of this
// module that have exported fields (the groups, and OAuth2 and its Mapping
// of package plainoauth).
// groups are the top-level fields descended into.
func configFieldPaths() (paths, groups map[string]bool) {
	paths, groups = map[string]bool{}, map[string]bool{}
	pkg := reflect.TypeFor[Config]().PkgPath()
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			p := prefix + f.Name
			paths[p] = true
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			inModule := ft.PkgPath() == pkg || strings.HasPrefix(ft.PkgPath(), pkg+"/")
			if ft.Kind() == reflect.Struct && inModule && hasExportedField(ft) {
				if prefix == "" {
					groups[f.Name] = true
				}
				walk(p+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return paths, groups
}

func hasExportedField(t reflect.Type) bool {
	for f := range t.Fields() {
		if f.IsExported() {
			return true
		}
	}
	return false
}

func methodOfConfig(name string) bool {
	_, ok := reflect.TypeFor[Config]().MethodByName(name)
	return ok
}

// TestReferenceRoutes checks that the reference's "Routes" table lists
// exactly the patterns Auth.Handler registers (read from its source), that
// each documented route is served (not the mux's 404 or 405) while the other
// method is not, and that every /auth/ path the docs mention is a route.
func TestReferenceRoutes(t *testing.T) {
	registered := handlerPatterns(t)
	doc := readDoc(t, referenceDoc)
	var documented []string
	for _, row := range tableRows(t, section(t, doc, "Routes")) {
		documented = append(documented, backticked(row[0])...)
	}
	for _, p := range registered {
		if !slices.Contains(documented, p) {
			t.Errorf("%s: Auth.Handler serves %q, missing from the \"Routes\" table", referenceDoc, p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(registered, p) {
			t.Errorf("%s: the \"Routes\" table lists %q, which Auth.Handler does not register", referenceDoc, p)
		}
	}

	h := newHarness(t, nil)
	if _, err := h.auth.NewPurpose("mfa", "", func(context.Context, *User) error { return nil }); err != nil {
		t.Fatal(err)
	}
	served := func(method, path string) bool {
		t.Helper()
		req, err := http.NewRequest(method, h.app.URL+strings.ReplaceAll(path, "{purpose}", "mfa"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := h.browser().do(req)
		// Handler answers a path no route takes with its 404 page and a
		// route's path with another method with 405.
		return r.status != http.StatusMethodNotAllowed && !(r.status == http.StatusNotFound && strings.Contains(r.body, "Page not found"))
	}
	if served("GET", "/auth/no-such-route") {
		t.Fatal("an unknown path under /auth/ is served; this test cannot tell routes apart")
	}
	for _, p := range documented {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			continue // the catch-all, authPrefix
		}
		if !served(method, path) {
			t.Errorf("%s: %s is documented but not served", referenceDoc, p)
		}
		other := map[string]string{"GET": "POST", "POST": "GET"}[method]
		if !slices.Contains(documented, other+" "+path) && served(other, path) {
			t.Errorf("%s: %s is served but not documented", referenceDoc, other+" "+path)
		}
	}

	authPath := regexp.MustCompile(`/auth/[a-z0-9/{}_-]*`)
	for _, file := range checkedDocs {
		for _, m := range authPath.FindAllString(readDoc(t, file), -1) {
			m = strings.TrimRight(m, "/")
			if m == "/auth" {
				continue // the mount point, "/auth/"
			}
			if !slices.ContainsFunc(registered, func(p string) bool { _, path, _ := strings.Cut(p, " "); return pathMatches(path, m) }) {
				t.Errorf("%s mentions %s, which is not a route of Auth.Handler", file, m)
			}
		}
	}
}

// pathMatches reports whether path matches pattern, whose {name} segments
// match any one segment.
func pathMatches(pattern, path string) bool {
	ps, ss := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(ss) {
		return false
	}
	for i := range ps {
		if ps[i] != ss[i] && !(strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}")) {
			return false
		}
	}
	return true
}

// handlerPatterns reads the patterns that (*Auth).Handler registers with
// Handle or HandleFunc, evaluating the package's string constants.
func handlerPatterns(t *testing.T) []string {
	t.Helper()
	consts := packageConstants(t, ".")
	var patterns []string
	for _, file := range parsePackage(t, ".") {
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Handler" || fn.Recv == nil || !isAuthReceiver(fn.Recv) {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				p, ok := evalString(call.Args[0], consts)
				if !ok {
					t.Fatalf("(*Auth).Handler registers a pattern this test cannot evaluate: %s", exprString(call.Args[0]))
				}
				patterns = append(patterns, p)
				return true
			})
		}
	}
	if len(patterns) < 5 {
		t.Fatalf("found %d patterns in (*Auth).Handler; has it changed shape?", len(patterns))
	}
	return patterns
}

func isAuthReceiver(recv *ast.FieldList) bool {
	if len(recv.List) != 1 {
		return false
	}
	star, ok := recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Auth"
}

// TestReferenceAudit checks that the reference lists exactly the event names
// and reason codes of package audit.
func TestReferenceAudit(t *testing.T) {
	var want []string
	for name, v := range packageConstants(t, "audit") {
		if strings.HasPrefix(name, "Event") || strings.HasPrefix(name, "Reason") {
			want = append(want, v)
		}
	}
	if len(want) < 20 {
		t.Fatalf("found %d audit constants; has package audit moved?", len(want))
	}
	var documented []string
	for _, para := range strings.Split(section(t, readDoc(t, referenceDoc), "Audit events"), "\n\n") {
		if strings.HasPrefix(para, "Events:") || strings.HasPrefix(para, "Reasons") {
			documented = append(documented, backticked(para)...)
		}
	}
	for _, v := range want {
		if !slices.Contains(documented, v) {
			t.Errorf("%s: package audit has %q, missing from \"Audit events\"", referenceDoc, v)
		}
	}
	for _, v := range documented {
		if !slices.Contains(want, v) {
			t.Errorf("%s: \"Audit events\" lists %q, which package audit does not define", referenceDoc, v)
		}
	}
}

// TestDocsGoBlocks checks that every Go block of the checked docs appears,
// line for line (spacing aside), in a _test.go file of the repository: an
// Example, so the block compiles against the current API.
func TestDocsGoBlocks(t *testing.T) {
	var tests [][]string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			tests = append(tests, codeLines(string(b)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```")
	for _, file := range checkedDocs {
		blocks := block.FindAllStringSubmatch(readDoc(t, file), -1)
		for _, b := range blocks {
			lines := codeLines(b[1])
			if !slices.ContainsFunc(tests, func(src []string) bool { return containsRun(src, lines) }) {
				t.Errorf("%s: the Go block starting %q is in no _test.go file: put it in an Example", file, lines[0])
			}
		}
	}
}

// codeLines returns the non-blank lines of src with their spacing collapsed.
func codeLines(src string) []string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func containsRun(src, run []string) bool {
	for i := 0; i+len(run) <= len(src); i++ {
		if slices.Equal(src[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// TestDocsLinks checks that the relative links of the checked docs lead to
// files that exist and, with a #fragment, to a heading of that file.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range checkedDocs {
		for _, m := range link.FindAllStringSubmatch(readDoc(t, file), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			path = filepath.Join(filepath.Dir(file), path)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links to %s: %v", file, target, err)
				continue
			}
			if frag != "" && !slices.Contains(headingAnchors(string(b)), frag) {
				t.Errorf("%s links to %s: %s has no heading #%s", file, target, path, frag)
			}
		}
	}
}

// headingAnchors returns the anchors GitHub gives the Markdown headings.
func headingAnchors(md string) []string {
	var out []string
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, l := range strings.Split(md, "\n") {
		if h, ok := strings.CutPrefix(l, "#"); ok {
			h = strings.TrimLeft(h, "#")
			h = drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), "")
			out = append(out, strings.ReplaceAll(h, " ", "-"))
		}
	}
	return out
}

// Helpers: Markdown.

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text under the "## heading" of md, up to the next
// "## " heading (subsections included).
func section(t *testing.T, md, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(md, "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", referenceDoc, "## "+heading)
	}
	body, _, _ := strings.Cut(rest, "\n## ")
	return body
}

// tableRows returns the cells of the body rows of the Markdown tables in s
// (header rows, those followed by a |---| line, left out).
func tableRows(t *testing.T, s string) [][]string {
	t.Helper()
	lines := strings.Split(s, "\n")
	var rows [][]string
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "|---") {
			continue
		}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "|---") {
			continue // a header
		}
		cells := strings.Split(strings.Trim(l, "|"), " | ")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatalf("found no table rows in a section of %s", referenceDoc)
	}
	return rows
}

var backtickSpan = regexp.MustCompile("`([^`\n]+)`")

// backticked returns the code spans of s.
func backticked(s string) []string {
	var out []string
	for _, m := range backtickSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// Helpers: Go source.

func parsePackage(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// packageConstants returns the string constants declared in the Go files
// (tests aside) of dir whose values this test can evaluate: literals and
// concatenations of literals and other such constants.
func packageConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	exprs := map[string]ast.Expr{}
	for _, f := range parsePackage(t, dir) {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						exprs[name.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	consts := map[string]string{}
	for changed := true; changed; {
		changed = false
		for name, e := range exprs {
			if _, done := consts[name]; done {
				continue
			}
			if v, ok := evalString(e, consts); ok {
				consts[name], changed = v, true
			}
		}
	}
	return consts
}

// evalString evaluates a string literal, a known constant, or a + of them.
func evalString(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		v, ok := consts[e.Name]
		return v, ok
	case *ast.ParenExpr:
		return evalString(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := evalString(e.X, consts)
		y, ok2 := evalString(e.Y, consts)
		return x + y, ok1 && ok2
	case *ast.CallExpr:
		// A typed constant such as Reason("ok").
		if len(e.Args) == 1 {
			if _, ok := e.Fun.(*ast.Ident); ok {
				return evalString(e.Args[0], consts)
			}
		}
	}
	return "", false
}

func exprString(e ast.Expr) string {
	var b strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			b.WriteString(id.Name + " ")
		}
		return true
	})
	return strings.TrimSpace(b.String())
}

// dirHasString reports whether a Go file of dir (not its subdirectories)
// contains s.
func dirHasString(t *testing.T, dir, s string) bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(filepath.FromSlash(dir), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
