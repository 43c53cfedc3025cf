const topojson = require('./topojson-client-3.1.0/package/dist/topojson-client.js');
const topo = require('./world-atlas-2.0.2/package/countries-110m.json');
const gj = topojson.feature(topo, topo.objects.countries);
const r = (c) => typeof c[0] === 'number' ? [Math.round(c[0]*100)/100, Math.round(c[1]*100)/100] : c.map(r);
gj.features = gj.features.map(f => ({type: 'Feature', id: f.id, properties: {name: f.properties.name},
  geometry: f.geometry ? {type: f.geometry.type, coordinates: r(f.geometry.coordinates)} : null})).filter(f => f.geometry);
process.stdout.write(JSON.stringify(gj));
