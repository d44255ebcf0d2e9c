import type { ReactNode } from 'react';

/** A column heading: its words, or { label, srOnly } for an action column only screen readers name, with an optional class. */
export type Column = string | { label: string; srOnly?: boolean; className?: string };

/** A data table: one heading row from `columns`, the body rows as children. */
export function Table({ columns, className, testId, children }: { columns: Column[]; className?: string; testId?: string; children?: ReactNode }) {
  return (
    <table className={className} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => {
            const col = typeof c === 'string' ? { label: c } : c;
            return (
              <th key={col.label} className={col.className}>
                {col.srOnly ? <span className="sr-only">{col.label}</span> : col.label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
