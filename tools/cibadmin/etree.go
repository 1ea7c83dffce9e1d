package cibadmin

import "github.com/beevik/etree"

type etreeElement = etree.Element

func etreeNew(tag string) *etree.Element { return etree.NewElement(tag) }
