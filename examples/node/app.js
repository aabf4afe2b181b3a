'use strict'
// app.js - hanami from Node: a table of rows, a named model trained on it,
// predictions from JS arrays and Float32Arrays, the model's log, a network
// read and written back, in text and in binary result format. Every result
// is checked; the exit status is non-zero when one is wrong.
//
//   npm ci && node app.js
//
// Connects with the usual libpq environment variables (PGHOST, PGPORT,
// PGUSER, PGDATABASE, PGPASSWORD); runs CREATE EXTENSION hanami if needed,
// and replaces its own table (node_points) and model (node_points).

const assert = require('node:assert/strict')
const pg = require('pg')
const hanami = require('./hanami')

const MODEL = 'node_points'
let checks = 0
function ok(description) {
  checks++
  console.log('ok ' + checks + ' - ' + description)
}

// Deterministic rows: two features, three classes by the first feature.
function* points(n) {
  let s = 12345
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let i = 0; i < n; i++) {
    const x = rand() * 6 - 3
    const y = rand() * 4 - 2
    if (Math.abs(x + 1) < 0.2 || Math.abs(x - 1) < 0.2) continue // a margin between classes
    yield { features: new Float32Array([x, y]), label: x < -1 ? 0 : x < 1 ? 1 : 2 }
  }
}

async function main() {
  // -------------------------------------------- the problem, plain pg
  // pg 8.x decodes every field of a binary result (binary: true) as UTF-8
  // before its type parsers see it: bytes that are not UTF-8 are replaced.
  // If these checks ever fail, pg keeps binary fields intact now and the
  // adapter's rule (text results only) can be revisited.
  const plain = new pg.Client({ binary: true })
  await plain.connect()
  try {
    await plain.query('CREATE EXTENSION IF NOT EXISTS hanami')
    const { rows: [int] } = await plain.query('SELECT $1::int4 AS a, $2::int4 AS b', [127, 1000])
    assert.deepEqual(int, { a: 127, b: 1007 })
    ok('plain pg with binary: true reads int4 127 right and 1000 as 1007')
    const net = `hanami.network('{"layers": [2, 4, 3]}', $1)`
    const { rows: [bad] } = await plain.query(
      `SELECT ${net}::bytea AS image, ${net} AS net, hanami.run(${net}, '{1, 2}') AS out,
              length(${net}::bytea) AS len`, [1])
    assert.equal(typeof bad.image, 'string', 'a binary bytea reads as a string')
    assert.equal(typeof bad.out, 'string', 'a binary real[] reads as a string')
    assert.notEqual(Buffer.byteLength(bad.net, 'utf8'), bad.len)
    await assert.rejects(plain.query('SELECT hanami.info($1::bytea::hanami.network)',
      [Buffer.from(bad.net, 'utf8')]), /network value/)
    ok('... and turns bytea, real[] and hanami.network into lossy strings that no longer load')
    assert.throws(() => hanami.networkParam(bad.net), /decoded as UTF-8/)
    ok('networkParam refuses such a string with an explanation')

    // pg sends a Float32Array as its raw bytes: the server rejects them.
    await assert.rejects(plain.query(`SELECT hanami.run(${net}, $2)`, [1, new Float32Array([1, 2])]),
      /array dimensions|wrong element type|invalid/)
    ok('a bare Float32Array parameter is an error, not a value')
  } finally {
    await plain.end()
  }

  // ------------------------------------------------------- the adapter
  const types = hanami.types()
  const db = new pg.Client({ types })
  await db.connect()
  try {
    await types.load(db)
    assert.ok(Number.isInteger(types.networkOid) && types.networkOid > 16384)
    ok('types.load finds hanami.network (OID ' + types.networkOid + ')')

    // a table of rows, written from Float32Arrays
    await db.query(`DROP TABLE IF EXISTS ${MODEL}`)
    await db.query(`CREATE TABLE ${MODEL} (id serial PRIMARY KEY, features real[] NOT NULL, label int NOT NULL)`)
    await db.query('BEGIN')
    let n = 0
    for (const p of points(400)) {
      await db.query(`INSERT INTO ${MODEL} (features, label) VALUES ($1, $2)`,
        [hanami.realArray(p.features), p.label])
      n++
    }
    await db.query('COMMIT')
    const stored = (await db.query(`SELECT features FROM ${MODEL} ORDER BY id LIMIT 1`)).rows[0].features
    const first = points(400).next().value.features
    assert.deepEqual(stored.map(Math.fround), Array.from(first))
    ok(n + ' rows inserted from Float32Arrays, stored exactly')

    // a named model, trained
    await db.query(`SELECT hanami.drop_model(name) FROM hanami.model_catalog
                     WHERE name = $1 AND project = current_user::regrole`, [MODEL])
    await db.query(`SELECT hanami.create_model($1, '{"layers": [2, 16, 3], "activation": "tanh"}', seed => 7)`,
      [MODEL])
    const commit = (await db.query(
      `SELECT hanami.train($1, $2, '{"epochs": 60, "learning_rate": 0.01, "batch_size": 8}', 'from node')`,
      [MODEL, `SELECT features, label FROM ${MODEL}`])).rows[0].train
    assert.match(commit, /^[0-9]+$/)
    const evaluation = (await db.query('SELECT hanami.evaluate($1, $2) AS e',
      [MODEL, `SELECT features, label FROM ${MODEL}`])).rows[0].e
    assert.equal(evaluation.rows, n)
    assert.ok(evaluation.accuracy >= 0.9, 'accuracy ' + evaluation.accuracy)
    ok('model trained: accuracy ' + evaluation.accuracy + ' on ' + evaluation.rows + ' rows')

    // inline predictions, inputs from a JS array and a Float32Array
    const input = [2.5, 0.25]
    const fromArray = (await db.query('SELECT hanami.predict($1, $2) AS p, hanami.predict_class($1, $2) AS c',
      [MODEL, hanami.realArray(input)])).rows[0]
    const fromF32 = (await db.query('SELECT hanami.predict($1, $2) AS p, hanami.predict_class($1, $2) AS c',
      [MODEL, hanami.realArray(new Float32Array(input))])).rows[0]
    assert.equal(fromArray.p.length, 3)
    assert.ok(Math.abs(fromArray.p.reduce((a, b) => a + b) - 1) < 1e-5)
    assert.deepEqual(fromF32, fromArray)
    assert.equal(fromArray.c, 2)
    ok('predict from a JS array and a Float32Array: the same outputs, class ' + fromArray.c)

    const perRow = []
    for (const x of [[-2.5, 0], [0, 0], [2.5, 0]]) {
      perRow.push((await db.query('SELECT hanami.predict_class($1, $2) AS c',
        [MODEL, hanami.realArray(Float32Array.from(x))])).rows[0].c)
    }
    assert.deepEqual(perRow, [0, 1, 2])
    ok('one prediction per class: ' + perRow.join(', '))

    // the typed arrays' edge values reach the server exactly
    const edge = new Float32Array([Math.fround(0.1), Math.fround(1 / 3), 3.4028234663852886e38,
      1.401298464324817e-45, -0, Math.fround(-123456.789), NaN, Infinity, -Infinity])
    const echoed = (await db.query('SELECT $1::real[] AS a, $1::real[]::text AS t',
      [hanami.realArray(edge)])).rows[0]
    assert.deepEqual(echoed.a.map(Math.fround), Array.from(edge).map((v) => v + 0))
    ok('Float32Array edge values round-trip exactly: ' + echoed.t)
    assert.throws(() => hanami.realArray([1, null]), /element 1 is null/)
    assert.throws(() => hanami.realArray([1, '2']), /element 1 is string/)
    ok('realArray refuses non-numbers with the element index')

    // the model's log
    const log = (await db.query('SELECT * FROM hanami.log($1)', [MODEL])).rows
    assert.equal(log.length, 2)
    assert.equal(log[0].commit_id, commit)
    assert.equal(log[0].message, 'from node')
    assert.equal(log[1].metrics.seed, 7)
    assert.ok(log[0].created_at instanceof Date)
    assert.equal(typeof log[0].metrics, 'object')
    ok('hanami.log: ' + log.map((c) => c.commit_id + ' ' + JSON.stringify(c.message)).join(', '))

    // a network read and written back: text form (parsed and as a string), bytea
    const md5 = (await db.query('SELECT md5(hanami.load($1)::bytea) AS m', [MODEL])).rows[0].m
    const parsed = (await db.query('SELECT hanami.load($1) AS net', [MODEL])).rows[0].net
    assert.equal(parsed.kind, 'dense')
    assert.deepEqual(parsed.layers.map((l) => l.count), [2, 16, 3])
    assert.equal(parsed.trained.epochs, 60)
    const inArray = (await db.query('SELECT ARRAY[hanami.load($1), NULL] AS nets', [MODEL])).rows[0].nets
    assert.deepEqual(inArray, [parsed, null])
    ok('a network (also in an array) reads as its text form, parsed: ' + parsed.kind + ' ' +
      parsed.layers.map((l) => l.count).join('-') + ', ' + parsed.trained.epochs + ' epochs')
    const asString = (await db.query('SELECT hanami.load($1)::text AS net', [MODEL])).rows[0].net
    const image = (await db.query('SELECT hanami.load($1)::bytea AS net', [MODEL])).rows[0].net
    assert.ok(Buffer.isBuffer(image) && image.subarray(0, 4).toString('latin1') === 'HNMI')
    for (const [what, value] of [['parsed', parsed], ['text', asString], ['Buffer', image]]) {
      const back = (await db.query('SELECT md5($1::hanami.network::bytea) AS m',
        [hanami.networkParam(value)])).rows[0].m
      assert.equal(back, md5, what)
    }
    ok('parsed, text and Buffer (' + image.length + ' bytes) each write back as the same bytes')

    const saved = (await db.query("SELECT hanami.save($1, $2::hanami.network, 'copied through node') AS id",
      [MODEL, hanami.networkParam(image)])).rows[0].id
    const after = (await db.query('SELECT hanami.predict($1, $3) AS a, hanami.predict($2, $3) AS b',
      [MODEL + '#' + commit, MODEL + '#' + saved, hanami.realArray(input)])).rows[0]
    assert.deepEqual(after.a, after.b)
    assert.equal((await db.query('SELECT count(*) FROM hanami.log($1)', [MODEL])).rows[0].count, '3')
    ok('hanami.save of the Buffer made commit ' + saved + ', which predicts the same')

    // binary results through the adapter: an error, never a wrong value
    for (const sql of ['SELECT $1::int4 AS a', 'SELECT hanami.load($1) AS net']) {
      await assert.rejects(db.query({ text: sql, values: [sql.includes('load') ? MODEL : 1000], binary: true }),
        /came in binary format, which pg decodes as UTF-8 and so corrupts; run the query without binary: true/)
    }
    const rows = (await db.query({ text: 'SELECT $1::int4 AS a', values: [1000] })).rows
    assert.deepEqual(rows, [{ a: 1000 }])
    ok('with the adapter a binary result is an error that says what to do; text reads 1000')

    // a pool: one types object for all its connections (one database)
    const poolTypes = hanami.types()
    const pool = new pg.Pool({ types: poolTypes, max: 2 })
    try {
      await poolTypes.load(pool)
      const [a, b] = await Promise.all([
        pool.query('SELECT hanami.load($1) AS net', [MODEL]),
        pool.query('SELECT hanami.predict_class($1, $2) AS c', [MODEL, hanami.realArray(new Float32Array([-2.5, 0]))]),
      ])
      assert.deepEqual(a.rows[0].net, parsed)
      assert.equal(b.rows[0].c, 0)
      ok('a pg.Pool with the same types reads the same network and predicts')
    } finally {
      await pool.end()
    }
  } finally {
    await db.end()
  }
  console.log('node app: ' + checks + ' checks passed')
}

main().catch((err) => {
  console.error('not ok - ' + (err && err.stack ? err.stack : err))
  process.exit(1)
})
