package main

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// This file binds command-line flags to option structs, so that an option is
// declared once: as a field of its package's Options, with its YAML key (the
// flag's name), its help text and its default. A field is an option when it
// has both a `yaml:"name"` and a `usage:"…"` tag; `short:"x"` adds a one-letter
// alias. A struct field tagged `yaml:",inline"` is walked too, and its
// `category:"…"` tag groups its flags in `conveyor help run` (a field's own
// category tag overrides it).
//
// Supported field types: string, bool, int, int64, float32, float64,
// time.Duration, []string, and any type whose pointer implements
// encoding.TextUnmarshaler (enums and parsed values such as an input size).

// option is one bindable field.
type option struct {
	name, usage, category string
	aliases               []string
	field                 reflect.Value // addressable, inside the walked struct
}

// options lists the options of the struct v points to, in field order.
func options(v any) []option {
	var out []option
	walk(reflect.ValueOf(v).Elem(), "", &out)
	return out
}

func walk(v reflect.Value, category string, out *[]option) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, rest, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if rest == "inline" && sf.Type.Kind() == reflect.Struct {
			c := category
			if tc := sf.Tag.Get("category"); tc != "" {
				c = tc
			}
			walk(v.Field(i), c, out)
			continue
		}
		usage := sf.Tag.Get("usage")
		if name == "" || name == "-" || usage == "" {
			continue
		}
		o := option{name: name, usage: usage, category: category, field: v.Field(i)}
		if c := sf.Tag.Get("category"); c != "" {
			o.category = c
		}
		if s := sf.Tag.Get("short"); s != "" {
			o.aliases = strings.Split(s, ",")
		}
		*out = append(*out, o)
	}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// flag makes the cli flag for o, its default the field's current value.
func (o option) flag() cli.Flag {
	f := o.field
	switch {
	case f.Addr().Type().Implements(textType):
		return &cli.GenericFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category,
			Value: &textValue{v: reflect.New(f.Type())}, DefaultText: fmt.Sprint(f.Interface())}
	case f.Type() == durationType:
		return &cli.DurationFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: time.Duration(f.Int())}
	}
	switch f.Kind() {
	case reflect.String:
		return &cli.StringFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: f.String()}
	case reflect.Bool:
		return &cli.BoolFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: f.Bool()}
	case reflect.Int:
		return &cli.IntFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: int(f.Int())}
	case reflect.Int64:
		return &cli.Int64Flag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: f.Int()}
	case reflect.Float32:
		// Shown as the float32 it is: 0.15, not 0.15000000596046448.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(f.Float(), 'g', -1, 32), 64)
		return &cli.Float64Flag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: v}
	case reflect.Float64:
		return &cli.Float64Flag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: f.Float()}
	case reflect.Slice:
		if f.Type().Elem().Kind() == reflect.String {
			var def *cli.StringSlice
			if f.Len() > 0 {
				def = cli.NewStringSlice(f.Interface().([]string)...)
			}
			return &cli.StringSliceFlag{Name: o.name, Aliases: o.aliases, Usage: o.usage, Category: o.category, Value: def}
		}
	}
	panic(fmt.Sprintf("conveyor: option %s: unsupported field type %s", o.name, f.Type()))
}

// apply copies the flag's value into the field, if the user set the flag.
func (o option) apply(c *cli.Context) {
	if !c.IsSet(o.name) {
		return
	}
	f := o.field
	switch {
	case f.Addr().Type().Implements(textType):
		f.Set(c.Generic(o.name).(*textValue).v.Elem())
		return
	case f.Type() == durationType:
		f.SetInt(int64(c.Duration(o.name)))
		return
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(c.String(o.name))
	case reflect.Bool:
		f.SetBool(c.Bool(o.name))
	case reflect.Int:
		f.SetInt(int64(c.Int(o.name)))
	case reflect.Int64:
		f.SetInt(c.Int64(o.name))
	case reflect.Float32, reflect.Float64:
		f.SetFloat(c.Float64(o.name))
	case reflect.Slice:
		f.Set(reflect.ValueOf(slices.Clone(c.StringSlice(o.name))))
	}
}

// kind names the option's type for docs/CONFIG.md.
func (o option) kind() string {
	f := o.field
	switch {
	case f.Addr().Type().Implements(textType):
		return "text"
	case f.Type() == durationType:
		return "duration"
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list"
	}
	return f.Kind().String()
}

// textValue is a flag value parsed by the field type's UnmarshalText.
type textValue struct {
	v   reflect.Value // a pointer to a value of the field's type
	set bool
}

func (t *textValue) Set(s string) error {
	if err := t.v.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		return err
	}
	t.set = true
	return nil
}

func (t *textValue) String() string {
	if t == nil || !t.v.IsValid() || !t.set {
		return ""
	}
	return fmt.Sprint(t.v.Elem().Interface())
}

// optionFlags makes the flags of every option of the struct v points to.
func optionFlags(v any) []cli.Flag {
	var out []cli.Flag
	for _, o := range options(v) {
		out = append(out, o.flag())
	}
	return out
}

// applyFlags copies every flag the user set into the struct v points to.
func applyFlags(c *cli.Context, v any) {
	for _, o := range options(v) {
		o.apply(c)
	}
}
