"""Distinguished-alumni profile sheets: one A4 page per person, Chinese set in reportlab's built-in
CID font STSong-Light (no font files to ship)."""

from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepInFrame, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.alumni.exports import Profile
from apps.core.exporting import ExportResult, sha256_of

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    return {
        "name": ParagraphStyle("name", parent=base, fontSize=22, leading=28, spaceAfter=4 * mm),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontSize=13,
            leading=18,
            spaceBefore=5 * mm,
            spaceAfter=2 * mm,
            textColor=colors.HexColor("#264b5d"),
        ),
        "item": ParagraphStyle("item", parent=base, leftIndent=4 * mm, bulletIndent=0, spaceAfter=1.5 * mm),
        "base": base,
    }


def _page(profile: Profile, styles, width: float) -> list:
    flowables: list = [Paragraph(escape(profile.name), styles["name"])]
    if profile.facts:
        table = Table(
            [
                [Paragraph(escape(label), styles["base"]), Paragraph(escape(value), styles["base"])]
                for label, value in profile.facts
            ],
            colWidths=[35 * mm, width - 35 * mm],
        )
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
        flowables.append(table)
    for title, items in [
        (_("Degrees"), profile.degrees),
        (_("Career"), profile.career),
        (_("Honours"), profile.honours),
    ]:
        if not items:
            continue
        flowables.append(Paragraph(escape(title), styles["heading"]))
        flowables.extend(Paragraph(escape(item), styles["item"], bulletText="•") for item in items)
    return flowables


def write_profile_sheets(fileobj, profiles: Iterable[Profile], *, number: str, recipient: str) -> ExportResult:
    """Write one page per profile (shrunk to fit when a career is long) to a seekable binary file.

    Every page carries the request number and recipient in its footer; the PDF's title, subject
    and keywords carry the number too. With no profiles the file holds one page saying so.
    """
    font = _font()
    styles = _styles(font)
    footer = _("%(number)s · for %(recipient)s only · page %(page)s")
    document = SimpleDocTemplate(
        fileobj,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
        title=number,
        subject=_("Distinguished-alumni profile sheets"),
        author="Alumni Portal",
        creator="Alumni Portal",
        keywords=[number],
    )

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(
            doc.leftMargin, 12 * mm, footer % {"number": number, "recipient": recipient, "page": doc.page}
        )
        canvas.restoreState()

    story: list = []
    count = 0
    for profile in profiles:
        if count:
            story.append(PageBreak())
        # The frame pads 6 pt on every side; what does not fit is shrunk, never spilled to a second page.
        width, height = document.width - 12, document.height - 12
        story.append(KeepInFrame(width, height, _page(profile, styles, width), mode="shrink"))
        count += 1
    if not count:
        story = [Spacer(1, 20 * mm), Paragraph(escape(_("No alumni matched this request.")), styles["base"])]
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    sha256, size = sha256_of(fileobj)
    return ExportResult(rows=count, sha256=sha256, size=size)
