'use strict'
// hanami.js - node-postgres (pg) adapter for hanami: real[] inputs from JS
// arrays and typed arrays, hanami.network values in and out, and type
// parsers that read networks and refuse pg's lossy binary results.
//
//   const pg = require('pg')
//   const hanami = require('./hanami')
//
//   const types = hanami.types()                 // one per database
//   const client = new pg.Client({ ...config, types })   // or new pg.Pool(...)
//   await client.connect()
//   await types.load(client)                     // finds hanami.network's OID
//
//   await client.query('SELECT hanami.predict($1, $2)',
//                      ['digits', hanami.realArray(new Float32Array(pixels))])
//   const { rows } = await client.query('SELECT net::bytea AS image FROM models')
//   await client.query('INSERT INTO models (net) VALUES ($1::hanami.network)',
//                      [hanami.networkParam(rows[0].image)])
//
// See docs/clients.md (## Node) for the rules and why they are needed.

const pg = require('pg')

// ------------------------------------------------------------------ inputs

// realArray(values): a PostgreSQL array literal ('{1.5,-2,...}') for a real[]
// parameter, from a JS array of numbers or any numeric typed array
// (Float32Array, Float64Array, Int32Array, Uint8Array, ...).
//
// pg itself sends a typed array as its raw bytes in binary format, which the
// server then reads as the binary form of an array: an error ("number of
// array dimensions (32831) exceeds the maximum allowed (6)") at best. Text
// is exact here: the shortest decimal of a float32 value reads back as that
// same float32, and NaN and +-Infinity are spelled as PostgreSQL reads them.
function realArray(values) {
  if (values == null) {
    throw new TypeError('hanami.realArray: expected an array of numbers or a typed array, got ' + values)
  }
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    if (typeof values[0] === 'bigint') {
      throw new TypeError('hanami.realArray: a BigInt typed array cannot be a real[] input')
    }
    return '{' + Array.prototype.join.call(values, ',') + '}'
  }
  if (!Array.isArray(values)) {
    throw new TypeError('hanami.realArray: expected an array of numbers or a typed array, got ' +
      Object.prototype.toString.call(values))
  }
  const parts = new Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (typeof v !== 'number') {
      throw new TypeError('hanami.realArray: element ' + i + ' is ' +
        (v === null ? 'null' : typeof v) + ', not a number')
    }
    parts[i] = String(v) // NaN, Infinity, -Infinity, 1e-7: all valid real input
  }
  return '{' + parts.join(',') + '}'
}

// The first bytes of every network's binary image.
const MAGIC = Buffer.from('HNMI', 'latin1')

// networkParam(value): a parameter for `$1::hanami.network` from what a read
// gave: a Buffer or Uint8Array (the binary image, as `net::bytea` reads it),
// a string (the text form, JSON, as pg reads `net` without types.load) or an
// object (the text form parsed, as it reads `net` with types.load).
//
// A Buffer is sent in binary format, which the type's receive function reads
// directly: no bytea cast and no hex encoding on the way. The text form is
// exact too: the same bytes come back.
function networkParam(value) {
  if (Buffer.isBuffer(value)) return checkImage(value)
  if (value instanceof Uint8Array) {
    return checkImage(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
  }
  if (typeof value === 'string') {
    if (value.startsWith('HNMI')) {
      // what pg makes of a network read with binary: true
      throw new TypeError('hanami.networkParam: this string is a binary network image decoded as ' +
        'UTF-8, which lost bytes (a query with binary: true); read networks in text format, ' +
        'as they are or as net::bytea')
    }
    return value
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    return JSON.stringify(value)
  }
  throw new TypeError('hanami.networkParam: expected a Buffer (the binary image), a string or an ' +
    'object (the text form), got ' + (value === null ? 'null' : typeof value))
}

function checkImage(buf) {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new TypeError('hanami.networkParam: these bytes are not a network image (no HNMI magic)')
  }
  return buf
}

// ---------------------------------------------------------------- types
//
// Results in binary format (pg's `binary: true`) are not safe with pg 8.x:
// its protocol parser decodes every field of a result row as UTF-8 text, and
// only then turns a binary field back into bytes for the type parser. Every
// byte sequence that is not valid UTF-8 becomes U+FFFD on the way, so the
// value is lost before any type parser sees it (an int4 1000 reads as 1007, a
// network's image loses bytes and no longer loads). Types without a binary
// parser in pg-types (bytea, real[], jsonb, hanami.network) are then decoded
// as strings, which hides the loss. Text format is exact for every value this
// adapter reads, so the rule is: text results only, and a binary result
// column is an error instead of a corrupted value.

function binaryRefused(oid) {
  return () => {
    throw new Error('hanami: a result column (type OID ' + oid + ') came in binary format, ' +
      'which pg decodes as UTF-8 and so corrupts; run the query without binary: true ' +
      '(text results are exact: read networks as they are or as net::bytea)')
  }
}

// types(): type parsers for pg.Client's and pg.Pool's `types` option: pg's
// text parsers, hanami.network once load() has run, and an error for every
// column in binary format. One per database: the network type's OID differs
// between databases.
function types() {
  const text = {}
  const network = { oid: null }
  return {
    getTypeParser(oid, format = 'text') {
      if (format !== 'text') return binaryRefused(oid)
      return text[oid] || pg.types.getTypeParser(oid, 'text')
    },
    // load(queryable): look up hanami.network in the database that a client
    // or pool connects to (the type of the hanami extension's schema), and
    // parse its text form, JSON, into an object (kind, layers, trained,
    // setup, ...); networkParam() turns it back into the same bytes.
    async load(queryable) {
      const { rows } = await queryable.query(
        `SELECT t.oid, t.typarray AS array_oid
           FROM pg_catalog.pg_type t
           JOIN pg_catalog.pg_extension e ON e.extnamespace = t.typnamespace
          WHERE e.extname = 'hanami' AND t.typname = 'network'`)
      if (rows.length !== 1) {
        throw new Error('hanami: type hanami.network not found in this database ' +
          '(run CREATE EXTENSION hanami first)')
      }
      network.oid = rows[0].oid
      text[rows[0].oid] = (value) => JSON.parse(value)
      text[rows[0].array_oid] = (value) => pg.types.arrayParser.create(value, JSON.parse).parse()
      return this
    },
    get networkOid() {
      return network.oid
    },
  }
}

module.exports = { realArray, networkParam, types }
