// The response bodies of the analyses API, declared once: api.ts checks its
// answers against them (`satisfies`) and the typed client (packages/client)
// exports them. Types only, on the generated database types.
import type { Tables } from '../database.types.ts';

/** An analyses row as the API answers it (`size` as a number). */
export type Analysis = Tables<'analyses'>;

/** 201 to `POST /analyses` */
export interface AnalysisCreated {
  analysis: Analysis;
}

/** `GET /analyses/{id}`: the row and its JSON document. */
export interface AnalysisWithData<T = unknown> {
  analysis: Analysis;
  data: T;
}

/** `GET /analyses?limit=&cursor=&kind=&conversation_id=` */
export interface AnalysisPage {
  analyses: Analysis[];
  next_cursor: string | null;
}

/** 202 to `DELETE /analyses/{id}` */
export interface AnalysisDeleteAccepted {
  analysis_id: string;
  status: 'deleting';
}
