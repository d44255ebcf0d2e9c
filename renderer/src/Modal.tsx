import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A real modal dialog (WAI-ARIA dialog pattern): role=dialog with aria-modal,
 * focus moves to the safe choice (the element marked data-safe) when it
 * opens, Tab stays inside, Escape cancels, and focus goes back where it was
 * when it closes. Fixed to the viewport with its own scroll, so it is on
 * screen at any window size.
 */
export function Modal({ title, onCancel, children, testId, tone = 'normal' }: { title: string; onCancel: () => void; children: ReactNode; testId?: string; tone?: 'normal' | 'danger' }) {
  const box = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const cancel = useRef(onCancel);
  cancel.current = onCancel;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = box.current!;
    (el.querySelector<HTMLElement>('[data-safe]') ?? el).focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        cancel.current();
      } else if (e.key === 'Tab') {
        const items = [...el.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')].filter((x) => !x.hasAttribute('disabled'));
        if (!items.length) return;
        const first = items[0]!;
        const last = items.at(-1)!;
        if (e.shiftKey && (document.activeElement === first || !el.contains(document.activeElement))) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && (document.activeElement === last || !el.contains(document.activeElement))) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      if (before && document.contains(before)) before.focus();
    };
  }, []);
  return (
    <div className="modal-backdrop">
      <div ref={box} className={`modal ${tone}`} role="dialog" aria-modal="true" aria-labelledby={titleId} tabIndex={-1} data-testid={testId}>
        <h3 id={titleId}>{title}</h3>
        {children}
      </div>
    </div>
  );
}
