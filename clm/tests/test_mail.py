"""Subjects built from typed text are one safe line."""

from django.core.mail import EmailMessage

from clm.mail import mail_subject


def test_line_breaks_and_control_characters_become_single_spaces():
    assert mail_subject("New lead: A\r\nBcc: x@y") == "New lead: A Bcc: x@y"
    assert mail_subject("a\x00b\tc\u2028d\u2029e\x85f\u202eg") == "a b c d e f g"


def test_whitespace_is_collapsed_and_the_length_capped():
    assert mail_subject("  many   spaces  ") == "many spaces"
    assert len(mail_subject("x" * 1000)) == 200
    assert mail_subject("abc def", max_chars=4) == "abc"


def test_the_result_never_raises_a_bad_header_error():
    subject = mail_subject("A\rB\nC\r\n\r\nTo: evil@x.io")
    EmailMessage(subject=subject, body="", to=["a@x.io"]).message()  # would raise BadHeaderError
