package desktop

// The API contract between Go and the frontend, generated from the Go
// types: frontend/src/api/contract.gen.ts holds the bound methods of API
// (every one required, with its argument and result types) and, for each
// Go type that crosses the boundary, the JSON keys it has. The frontend's
// own types (src/api/types.ts, which add unions and documentation) are
// checked against it by src/api/contract.check.ts under `npm run check`,
// so a Go method or JSON field renamed without the frontend fails the
// build, not the app. TestContractIsCurrent fails when the generated file
// is stale; `go test ./app/desktop -run TestContractIsCurrent -update`
// (make contract) rewrites it.

import (
	"bytes"
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite frontend/src/api/contract.gen.ts")

const contractFile = "../../frontend/src/api/contract.gen.ts"

// tsNames are the frontend's names of Go types whose own names would
// collide or mislead.
var tsNames = map[string]string{
	"settings.View":     "SettingsView",
	"settings.Settings": "Settings",
}

// frontendOnly are keys a frontend type has that the Go type does not
// send here (the web mode adds them).
var frontendOnly = map[string][]string{
	"SettingsView": {"readOnly"},
}

// extraKeys are JSON keys a type's MarshalJSON adds to its fields.
var extraKeys = map[string][]string{
	"reconcile.Op": {"destructive?: boolean"},
}

type contract struct {
	named  map[string]reflect.Type // TS name → Go type, for every struct reached
	prefix string                  // before a struct's name where it is used ("Wire" inside the wire types)
	used   map[string]bool         // struct names the methods use (imported from ./types)
	// frontend are the interfaces src/api/types.ts exports.
	frontend map[string]bool
}

func (c *contract) tsName(t reflect.Type) string {
	full := filepath.Base(t.PkgPath()) + "." + t.Name()
	if n, ok := tsNames[full]; ok {
		return n
	}
	return t.Name()
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	errorType     = reflect.TypeFor[error]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// ts is the TypeScript type of t as its JSON reads.
func (c *contract) ts(t reflect.Type) string {
	switch {
	case t == timeType:
		return "string"
	case t == durationType:
		return "number"
	case t == rawType:
		return "unknown"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.ts(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return c.ts(t.Elem()) + "[]"
	case reflect.Map:
		return "Record<string, " + c.ts(t.Elem()) + ">"
	case reflect.Interface:
		return "unknown"
	case reflect.Struct:
		if t.Name() == "" {
			return "unknown"
		}
		if t.Implements(textType) {
			return "string"
		}
		name := c.tsName(t)
		if prev, ok := c.named[name]; ok && prev != t {
			panic(fmt.Sprintf("two Go types are %s in TypeScript: %s and %s (add one to tsNames)", name, prev, t))
		}
		if _, ok := c.named[name]; !ok {
			c.named[name] = t
			saved := c.prefix
			c.prefix = "Wire"
			c.fields(t) // reach the types of its fields
			c.prefix = saved
		}
		if c.prefix == "" {
			c.used[name] = true
		}
		return c.prefix + name
	}
	return "unknown"
}

// fields are a struct's JSON keys with their types, as encoding/json
// writes them (embedded structs flattened, "-" left out, omitempty and
// omitzero optional).
func (c *contract) fields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, c.fields(ft)...)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		opt := ""
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			opt = "?"
		}
		out = append(out, fmt.Sprintf("%s%s: %s", name, opt, c.ts(f.Type)))
	}
	return out
}

// methodParams reads the parameter names of API's methods from the
// package's source (reflection has only their types).
func methodParams(t *testing.T) map[string][]string {
	t.Helper()
	fs := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range pf.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || !fd.Name.IsExported() {
				continue
			}
			var names []string
			for _, p := range fd.Type.Params.List {
				for _, n := range p.Names {
					names = append(names, n.Name)
				}
			}
			out[fd.Name.Name] = names
		}
	}
	return out
}

// frontendTypes are the interfaces src/api/types.ts exports.
func frontendTypes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../../frontend/src/api/types.ts")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^export interface (\w+)`).FindAllStringSubmatch(string(data), -1) {
		out[m[1]] = true
	}
	return out
}

// generate writes the contract: the bound methods, then each type's keys.
func generate(t *testing.T) []byte {
	c := &contract{named: map[string]reflect.Type{}, used: map[string]bool{}, frontend: frontendTypes(t)}
	params := methodParams(t)
	api := reflect.TypeFor[*API]()
	var b bytes.Buffer
	b.WriteString("// Generated from the Go types by app/desktop/contract_test.go: do not edit.\n")
	b.WriteString("// Rewrite it with `make contract` after changing the API or a type it returns.\n\n")
	var methods []string
	for i := range api.NumMethod() {
		m := api.Method(i)
		ft := m.Type
		var args []string
		for j := 1; j < ft.NumIn(); j++ { // 0 is the receiver
			name := fmt.Sprintf("arg%d", j)
			if ps := params[m.Name]; j-1 < len(ps) {
				name = ps[j-1]
			}
			args = append(args, fmt.Sprintf("%s: %s", name, c.ts(ft.In(j))))
		}
		ret := "void"
		for j := range ft.NumOut() {
			if ft.Out(j) != errorType {
				ret = c.ts(ft.Out(j))
			}
		}
		methods = append(methods, fmt.Sprintf("  %s(%s): Promise<%s>\n", m.Name, strings.Join(args, ", "), ret))
	}
	var imports []string
	for n := range c.used {
		imports = append(imports, n)
	}
	sort.Strings(imports)
	fmt.Fprintf(&b, "import type * as T from './types'\nimport type { %s } from './types'\n\n", strings.Join(imports, ", "))
	b.WriteString("/** The methods app/desktop binds (window.go.desktop.API), each one. */\n")
	b.WriteString("export interface BoundMethods {\n")
	for _, m := range methods {
		b.WriteString(m)
	}
	b.WriteString("}\n")
	// Every struct reached from a method is in c.named by now (ts walks
	// each one's fields as it first meets it).
	all := make([]string, 0, len(c.named))
	for n := range c.named {
		all = append(all, n)
	}
	sort.Strings(all)
	b.WriteString("\n/** The JSON of each Go type the API sends or takes, by its frontend name. */\n")
	c.prefix = "Wire"
	for _, n := range all {
		ty := c.named[n]
		fields := c.fields(ty)
		if extra, ok := extraKeys[filepath.Base(ty.PkgPath())+"."+ty.Name()]; ok {
			fields = append(fields, extra...)
		} else if reflect.PointerTo(ty).Implements(marshalerType) || ty.Implements(marshalerType) {
			t.Fatalf("%s writes its own JSON: say which keys it adds in extraKeys", ty)
		}
		fmt.Fprintf(&b, "/** %s.%s */\nexport interface Wire%s {\n", filepath.Base(ty.PkgPath()), ty.Name(), n)
		for _, f := range fields {
			fmt.Fprintf(&b, "  %s\n", f)
		}
		b.WriteString("}\n")
	}
	// The frontend's types with the same names must have the same keys:
	// a compile-time check, failing in npm run check.
	b.WriteString("\n// Each frontend type of src/api/types.ts named as a Go type has its keys.\n")
	b.WriteString("type Same<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]\n")
	b.WriteString("  ? true\n  : { frontendOnly: Exclude<keyof A, keyof B>; goOnly: Exclude<keyof B, keyof A> }\n")
	b.WriteString("export const sameKeys: {\n")
	var checked []string
	for _, n := range all {
		if c.frontend[n] {
			front := "T." + n
			if keys := frontendOnly[n]; len(keys) > 0 {
				front = fmt.Sprintf("Omit<T.%s, '%s'>", n, strings.Join(keys, "' | '"))
			}
			fmt.Fprintf(&b, "  %s: Same<%s, Wire%s>\n", n, front, n)
			checked = append(checked, n)
		}
	}
	b.WriteString("} = {\n")
	for _, n := range checked {
		fmt.Fprintf(&b, "  %s: true,\n", n)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func TestContractIsCurrent(t *testing.T) {
	got := generate(t)
	if *update {
		if err := os.WriteFile(contractFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(contractFile)
	if err != nil {
		t.Fatalf("%v: run make contract", err)
	}
	if !bytes.Equal(have, got) {
		hl, gl := strings.Split(string(have), "\n"), strings.Split(string(got), "\n")
		var diff []string
		for _, l := range gl {
			if !slices.Contains(hl, l) {
				diff = append(diff, "+ "+l)
			}
		}
		for _, l := range hl {
			if !slices.Contains(gl, l) {
				diff = append(diff, "- "+l)
			}
		}
		t.Fatalf("%s is stale (run make contract):\n%s", contractFile, strings.Join(diff, "\n"))
	}
}
