package config

import "time"

type Config struct {
	Listen string   `yaml:"listen"`
	Items  []Item   `yaml:"items,omitempty"`
	Opt    *Nested  `yaml:"opt"`
	Tags   []string `yaml:"tags"`
	hidden string
	Skip   string `yaml:"-"`
	NoTag  string
}

type Item struct {
	Name  string        `yaml:"name"`
	Every time.Duration `yaml:"every"`
}

type Nested struct {
	Deep Item `yaml:"deep"`
}
