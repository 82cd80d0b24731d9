import { describe, expect, it } from 'vitest'
import { defaultPodSpec, imageTag } from './strategies.js'

describe('imageTag and the imagePullPolicy default', () => {
  const digest = `sha256:${'a'.repeat(64)}`
  it.each([
    // reference, tag, imagePullPolicy Kubernetes fills in
    ['nginx', 'latest', 'Always'],
    ['nginx:latest', 'latest', 'Always'],
    ['127.0.0.1:5000/kubeapp', 'latest', 'Always'],
    ['127.0.0.1:5000/kubeapp:2.0', '2.0', 'IfNotPresent'],
    [`127.0.0.1:5000/kubeapp:2.0@${digest}`, '2.0', 'IfNotPresent'],
    [`127.0.0.1:5000/kubeapp@${digest}`, undefined, 'IfNotPresent'],
    [`127.0.0.1:5000/kubeapp:latest@${digest}`, 'latest', 'Always'],
  ])('%s → tag %s, %s', (image, tag, policy) => {
    expect(imageTag(image)).toBe(tag)
    expect(defaultPodSpec({ containers: [{ name: 'app', image }] }).containers).toMatchObject([
      { imagePullPolicy: policy },
    ])
  })
})
