/** `sum`: the reference lab's model: the prediction is the sum of the features. */
import type { Model, ModelKind } from '../model.js';
import { noArgument } from '../model-file.js';

export const sumModel: Model = {
  name: 'sum',
  predict(features) {
    const out = new Array<number>(features.length);
    for (let i = 0; i < features.length; i++) {
      const row = features[i] ?? [];
      let total = 0;
      for (let j = 0; j < row.length; j++) total += row[j] ?? 0;
      out[i] = total;
    }
    return out;
  },
};

export const sumKind: ModelKind = {
  name: 'sum',
  usage: 'sum',
  parse(argument, ref) {
    noArgument('sum', argument);
    return { kind: 'sum', ref, cacheKey: 'sum', load: () => Promise.resolve(sumModel) };
  },
};
