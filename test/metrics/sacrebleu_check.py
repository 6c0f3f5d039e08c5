#!/usr/bin/env python3
"""Print sacrebleu's scores for the corpora that test/metrics/sacrebleu.test.ts uses.

    python3 test/metrics/sacrebleu_check.py            # human-readable lines
    python3 test/metrics/sacrebleu_check.py --json     # everything, as JSON

test/metrics/sacrebleu-expected.json is `--json` output from sacrebleu 2.6.0; the
TypeScript test reads the corpora below from this file (between the BEGIN/END
markers) and compares toroid.metrics against that JSON. To re-verify on a machine
with sacrebleu:

    python3 test/metrics/sacrebleu_check.py --json > /tmp/sb.json
    diff <(python3 -m json.tool /tmp/sb.json) <(python3 -m json.tool test/metrics/sacrebleu-expected.json)

Corpora use sacrebleu's layout: "refs" is a list of reference streams, refs[k][i]
is the k-th reference of hyps[i] (null: no k-th reference for that segment).
Config keys are toroid's option names; PY_BLEU/PY_CHRF map them to sacrebleu's.
"""
import json
import sys

# BEGIN CORPORA
CORPORA = json.loads(r'''
{
  "corpora": {
    "readme": {
      "hyps": ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."],
      "refs": [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]
      ]
    },
    "tricky": {
      "hyps": [
        "He paid $1,000.50 for a 3-day pass, didn't he?",
        "&quot;Hello&quot; said the man &amp; his dog -- loudly.",
        "The year 1999-2000 was (mostly) fine; e.g. 3.5 % growth.",
        "Multiple   spaces\tand tabs , here .",
        "Ends with a number 42.",
        "Prices: 10,5 EUR / 7.25 USD <skipped> [done]",
        "state-of-the-art models, i.e. big ones..."
      ],
      "refs": [[
        "He paid $1,000.50 for a three-day pass, did he not?",
        "\"Hello\" said the man and his dog -- loudly.",
        "The years 1999-2000 were mostly fine; e.g. 3.5% growth.",
        "Multiple spaces and tabs, here.",
        "It ends with the number 42.",
        "Prices: 10,5 EUR / 7.25 USD [done]",
        "State-of-the-art models, i.e. large ones..."
      ]]
    },
    "zero4gram": {
      "hyps": ["the cat sat on the red mat", "a quick brown dog"],
      "refs": [["the cat is on the mat", "the quick brown fox jumps"]]
    },
    "short": {
      "hyps": ["Yes.", "No way", "ok"],
      "refs": [["Yes!", "No way.", "OK"]]
    },
    "multiref_var": {
      "hyps": ["the cat is on the mat", "there is a cat on the mat", "a dog barked loudly at night"],
      "refs": [
        ["the cat sat on the mat", "a cat is on the mat", "the dog barked loudly all night"],
        ["there is a cat on the mat", null, "a dog was barking at night"],
        ["the cat is sitting on the mat", "on the mat there is a cat", null]
      ]
    },
    "identical": {
      "hyps": ["The quick brown fox jumps over the lazy dog.", "Colorless green ideas sleep furiously, said Chomsky."],
      "refs": [["The quick brown fox jumps over the lazy dog.", "Colorless green ideas sleep furiously, said Chomsky."]]
    },
    "empty_hyp": {
      "hyps": ["", "the cat sat on the mat"],
      "refs": [["a cat was sitting on the mat", "the cat sat on the mat"]]
    },
    "all_empty": {
      "hyps": ["", ""],
      "refs": [["a cat", "the dog"]]
    },
    "unicode": {
      "hyps": ["Über den Wolken muss die Freiheit wohl grenzenlos sein.", "Il était une fois… « bonjour » !", "東京は日本の首都です。", "café 😀 naïve — ΣΟΦΙΑ"],
      "refs": [["Über den Wolken soll die Freiheit grenzenlos sein.", "Il était une fois... « Bonjour » !", "東京は日本の首都である。", "Café 😀 naive – σοφια"]]
    }
  },
  "bleu_configs": {
    "default": {},
    "smooth_none": {"smooth": "none"},
    "smooth_floor": {"smooth": "floor"},
    "smooth_floor_0.2": {"smooth": "floor", "smoothValue": 0.2},
    "smooth_add_k": {"smooth": "add-k"},
    "smooth_add_k_0.5": {"smooth": "add-k", "smoothValue": 0.5},
    "effective_order": {"effectiveOrder": true},
    "none_effective_order": {"smooth": "none", "effectiveOrder": true},
    "lowercase": {"lowercase": true},
    "tok_intl": {"tokenize": "intl"},
    "tok_none": {"tokenize": "none"},
    "tok_char": {"tokenize": "char"}
  },
  "chrf_configs": {
    "default": {},
    "chrf_pp": {"wordOrder": 2},
    "eps": {"epsSmoothing": true},
    "whitespace": {"whitespace": true},
    "lowercase": {"lowercase": true},
    "beta1": {"beta": 1},
    "char3_word1": {"charOrder": 3, "wordOrder": 1}
  },
  "tokenizer_cases": [
    "Hello, world!",
    "It costs $1,000.50, or 1.000,50 EUR.",
    "The 3-day event (2019-2020) ended.",
    "state-of-the-art",
    "&quot;Quoted&quot; &amp; &lt;tag&gt; &apos;x&apos;",
    "Trailing period.",
    "Number at end 42.",
    "Decimal .5 and 5. and 5.5",
    "a,b.c ,d. e",
    "Multiple   spaces\there\u00a0nbsp",
    "don't won't it's",
    "<skipped> text with skipped",
    "line-\nbreak and\nnewline",
    "x+y=z; a/b; c@d; e#f; 50% ~ok~ {a|b} [c\\d] `e` ^f_g",
    "\"double\" 'single' --dash-- ...",
    "U.S.A. e.g. i.e.",
    "3.14-2.71 = 0.43",
    "Über café — naïve… «quoted» 1,5 €",
    "",
    "   "
  ]
}
''')
# END CORPORA

PY_BLEU = {'smooth': 'smooth_method', 'smoothValue': 'smooth_value', 'effectiveOrder': 'effective_order',
           'lowercase': 'lowercase', 'tokenize': 'tokenize'}
PY_CHRF = {'charOrder': 'char_order', 'wordOrder': 'word_order', 'beta': 'beta', 'lowercase': 'lowercase',
           'whitespace': 'whitespace', 'epsSmoothing': 'eps_smoothing'}


def main():
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

    as_json = '--json' in sys.argv[1:]
    out = {'sacrebleu_version': sacrebleu.__version__, 'corpora': {}, 'tokenizers': {}}
    lines = []
    for name, c in CORPORA['corpora'].items():
        hyps, refs = c['hyps'], c['refs']
        res = {'bleu': {}, 'chrf': {}, 'sentence_bleu': [], 'sentence_chrf': []}
        for key, cfg in CORPORA['bleu_configs'].items():
            m = BLEU(force=True, **{PY_BLEU[k]: v for k, v in cfg.items()})
            s = m.corpus_score(hyps, refs)
            res['bleu'][key] = {
                'score': s.score, 'counts': list(s.counts), 'totals': list(s.totals),
                'precisions': list(s.precisions), 'bp': s.bp, 'ratio': s.ratio,
                'sys_len': s.sys_len, 'ref_len': s.ref_len,
                'format': s.format(), 'signature': str(m.get_signature()),
            }
            lines.append(f'{name:13s} bleu/{key:22s} {s}  [{m.get_signature()}]')
        for key, cfg in CORPORA['chrf_configs'].items():
            m = CHRF(**{PY_CHRF[k]: v for k, v in cfg.items()})
            s = m.corpus_score(hyps, refs)
            res['chrf'][key] = {'score': s.score, 'format': s.format(), 'signature': str(m.get_signature())}
            lines.append(f'{name:13s} chrf/{key:22s} {s}  [{m.get_signature()}]')
        for i, h in enumerate(hyps):
            seg_refs = [stream[i] for stream in refs if stream[i] is not None]
            sb = sacrebleu.sentence_bleu(h, seg_refs)
            sc = sacrebleu.sentence_chrf(h, seg_refs)
            res['sentence_bleu'].append({'score': sb.score, 'format': sb.format()})
            res['sentence_chrf'].append({'score': sc.score, 'format': sc.format()})
            lines.append(f'{name:13s} sentence[{i}] {sb} | {sc}')
        out['corpora'][name] = res
    t13a, tintl = Tokenizer13a(), TokenizerV14International()
    out['tokenizers']['13a'] = [t13a(s) for s in CORPORA['tokenizer_cases']]
    out['tokenizers']['intl'] = [tintl(s) for s in CORPORA['tokenizer_cases']]
    for s, a, b in zip(CORPORA['tokenizer_cases'], out['tokenizers']['13a'], out['tokenizers']['intl']):
        lines.append(f'tok {s!r}\n   13a  {a!r}\n   intl {b!r}')
    if as_json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        print(f'sacrebleu {sacrebleu.__version__}')
        print('\n'.join(lines))


if __name__ == '__main__':
    main()
