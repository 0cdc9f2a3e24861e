// CommonJS: require() of the ESM package (Node 20.19+ or 22.12+, the versions in "engines").
const { Gossip, base } = require('simple-scuttle')
const { Network } = require('simple-scuttle/net')
const g = new Gossip('cjs', { ...base.config, resolve: base.resolution.lww_vs_current_vers })
g.set('k', 1)
console.log(JSON.stringify({ gossip: typeof Gossip, network: typeof Network, value: g.get('k').value }))
