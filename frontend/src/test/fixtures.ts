import type { Listing } from '../api'

/** A listing like the one core returns for the example definitions. */
export function sampleListing(): Listing {
  return {
    target: { context: 'default', host: 'unix:///var/run/docker.sock', serverVersion: '20.10.24', apiVersion: '1.41' },
    definitions: [
      { name: 'shop', description: 'Web shop with its database', dir: '/repo/environments/shop' },
      { name: 'broken', dir: '/repo/environments/broken', error: 'berth.yaml:3: services: unknown key' },
    ],
    environments: [
      {
        name: 'shop',
        definition: 'shop',
        revision: '0123456789abcdef',
        state: 'running',
        running: 2,
        containers: 2,
        services: [
          { name: 'web', state: 'running', image: 'shop-web', replicas: 1, containers: [] },
          { name: 'db', state: 'running', image: 'postgres:15', replicas: 1, containers: [] },
        ],
      },
      { name: 'shop-pr42', definition: 'shop', state: 'partial', running: 1, containers: 3 },
    ],
  }
}
