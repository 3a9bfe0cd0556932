package manifest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Shapes is the field tree of API types — what a strict decoder into those Go types
// accepts — as data: the plugin checks rendered documents against it without linking the
// API's packages (the Kubernetes API types or an AWS SDK service weigh megabytes and run
// their init at every start). ShapesOf derives it from the types themselves; a test holds
// the committed description to them, so a module update that changes a type fails there.
//
// Each type is an expression: "string", "int", "number", "bool", "any" (a type that
// decodes itself, such as a Kubernetes quantity), "[]E", "map[]E" (string keys), or the
// name of a struct in Types.
type Shapes struct {
	// Fold matches field names case-insensitively, as encoding/json does (the AWS SDK's
	// types have no JSON tags); without it names match exactly, as the Kubernetes API
	// server's strict field validation does.
	Fold  bool                         `json:"fold,omitempty"`
	Roots map[string]string            `json:"roots"`
	Types map[string]map[string]string `json:"types"`
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// ShapesOf describes roots (a name for each, and a value of its type) as a strict decoder
// into them sees JSON.
func ShapesOf(fold bool, roots map[string]any) *Shapes {
	s := &Shapes{Fold: fold, Roots: map[string]string{}, Types: map[string]map[string]string{}}
	for name, v := range roots {
		s.Roots[name] = s.expr(reflect.TypeOf(v))
	}
	return s
}

func (s *Shapes) expr(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(jsonUnmarshaler) || t.Implements(jsonUnmarshaler):
		return "any"
	case reflect.PointerTo(t).Implements(textUnmarshaler) || t.Implements(textUnmarshaler):
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Interface:
		return "any"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // base64
		}
		return "[]" + s.expr(t.Elem())
	case reflect.Map:
		return "map[]" + s.expr(t.Elem())
	case reflect.Struct:
		name := t.PkgPath() + "." + t.Name()
		if _, ok := s.Types[name]; ok {
			return name
		}
		fields := map[string]string{}
		s.Types[name] = fields // before the fields: types may refer to themselves
		s.fields(t, fields)
		return name
	}
	panic(fmt.Sprintf("manifest: no JSON shape for %v", t))
}

// fields adds t's fields as encoding/json names them, embedded structs' promoted.
func (s *Shapes) fields(t reflect.Type, into map[string]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			s.fields(ft, into)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if slices.Contains(strings.Split(opts, ","), "string") {
			into[name] = "any"
			continue
		}
		into[name] = s.expr(f.Type)
	}
}

// Check decodes one JSON value and checks it against root's shape, naming the path of
// each field the type does not have and of each value of the wrong kind.
func (s *Shapes) Check(root string, doc []byte) error {
	expr, ok := s.Roots[root]
	if !ok {
		return fmt.Errorf("no shape for %s", root)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	var errs []error
	s.check(expr, v, "", &errs)
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
	}
	return errors.Join(errs...)
}

func (s *Shapes) check(expr string, v any, path string, errs *[]error) {
	if v == nil || expr == "any" {
		return // null decodes into anything, as encoding/json has it
	}
	at := path
	if at == "" {
		at = "the document"
	}
	wrong := func(want string) {
		*errs = append(*errs, fmt.Errorf("%s: %s, not %s", at, want, kindOf(v)))
	}
	switch {
	case expr == "string":
		if _, ok := v.(string); !ok {
			wrong("a string")
		}
	case expr == "bool":
		if _, ok := v.(bool); !ok {
			wrong("true or false")
		}
	case expr == "int":
		if n, ok := v.(json.Number); !ok {
			wrong("an integer")
		} else if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			if _, err := strconv.ParseUint(n.String(), 10, 64); err != nil {
				wrong("an integer")
			}
		}
	case expr == "number":
		if _, ok := v.(json.Number); !ok {
			wrong("a number")
		}
	case strings.HasPrefix(expr, "[]"):
		list, ok := v.([]any)
		if !ok {
			wrong("a list")
			return
		}
		for i, e := range list {
			s.check(expr[2:], e, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case strings.HasPrefix(expr, "map[]"):
		m, ok := v.(map[string]any)
		if !ok {
			wrong("a mapping")
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s.check(expr[5:], m[k], join(path, k), errs)
		}
	default:
		fields, ok := s.Types[expr]
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: the shape has no type %s", at, expr))
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			wrong("a mapping")
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fe, ok := fields[k]
			if !ok && s.Fold {
				for name, e := range fields {
					if strings.EqualFold(name, k) {
						fe, ok = e, true
						break
					}
				}
			}
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown field", join(path, k)))
				continue
			}
			s.check(fe, m[k], join(path, k), errs)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindOf(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
