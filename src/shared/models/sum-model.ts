import type { Model } from './model.js';

/** The reference lab's model: the prediction is the sum of the features. */
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
