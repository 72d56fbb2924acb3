//! CX insights over the stored journey: the friction map (`report`), one
//! customer's journey (`customer`), and service-recovery follow-ups
//! (`recovery`). Domain only: the store answers with rollups and tickets,
//! these modules turn them into what a CX team reads.

pub mod customer;
pub mod recovery;
pub mod report;

pub use customer::{CustomerJourney, JourneyContact, JourneySummary, SentimentTrend};
pub use recovery::follow_up_plan;
pub use report::{CustomerScope, GroupBy, JourneyCell, JourneyReport, ReportRequest};
