package main

import "github.com/beevik/etree"

type etreeRoot struct{ *etree.Element }
