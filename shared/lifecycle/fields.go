package lifecycle

import (
	"encoding"
	"fmt"
	"reflect"
	"time"

	"github.com/rs/zerolog"
)

// Fields renders a configuration struct as log fields: every exported
// field by name; durations as "1.5s"; values with their own text form
// (config.Secret prints as "********") in that form; nested structs as
// nested objects. Functions, channels and interfaces (writers, listeners,
// registries: things, not settings) are left out.
func Fields(cfg any) *zerolog.Event {
	d := zerolog.Dict()
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return d
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return d
	}
	addStruct(d, v)
	return d
}

var durationType = reflect.TypeFor[time.Duration]()

func addStruct(d *zerolog.Event, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		addValue(d, f.Name, v.Field(i))
	}
}

func addValue(d *zerolog.Event, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		addValue(d, name, v.Elem())
		return
	}
	if s, ok := text(v); ok {
		d.Str(name, s)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		sub := zerolog.Dict()
		addStruct(sub, v)
		d.Dict(name, sub)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			d.Int(name+"_bytes", v.Len()) // raw bytes may be key material
			return
		}
		out := make([]string, 0, v.Len())
		for i := range v.Len() {
			if s, ok := text(v.Index(i)); ok {
				out = append(out, s)
			} else {
				out = append(out, fmt.Sprint(v.Index(i).Interface()))
			}
		}
		d.Strs(name, out)
	case reflect.Map:
		// Maps are left out: their values are not known to be settings
		// that are safe to print.
	default:
		d.Interface(name, v.Interface())
	}
}

// text returns the text form of v for durations, fmt.Stringer and
// encoding.TextMarshaler values.
func text(v reflect.Value) (string, bool) {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String(), true
	}
	if !v.CanInterface() {
		return "", false
	}
	switch x := v.Interface().(type) {
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return "", false
		}
		return string(b), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}
